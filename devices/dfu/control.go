package dfu

import (
	"context"

	"trustforge/internal/usererr"
)

// Errors a Control reports, which Device passes on wrapped.
var (
	// ErrStall is returned by a Control when the device stalled the
	// request: DFU devices stall requests they refuse, and then report why
	// in GETSTATUS.
	ErrStall = usererr.New("dfu", "the device refused the request (stall)")
	// ErrDisconnected is returned by a Control once the device is gone:
	// unplugged, or re-enumerating after a detach or a reset.
	ErrDisconnected = usererr.New("dfu", "the device was disconnected")
)

// RequestType is the type field of a setup packet's bmRequestType.
type RequestType uint8

// Request types.
const (
	Standard RequestType = 0
	Class    RequestType = 1
	Vendor   RequestType = 2
)

// Recipient is the recipient field of a setup packet's bmRequestType.
type Recipient uint8

// Recipients.
const (
	ToDevice    Recipient = 0
	ToInterface Recipient = 1
	ToEndpoint  Recipient = 2
)

// Setup is a control transfer's setup packet without its direction and
// length, which the call gives.
type Setup struct {
	Type      RequestType
	Recipient Recipient
	Request   uint8
	Value     uint16
	Index     uint16
}

// RequestTypeByte returns bmRequestType for the setup in direction in.
func (s Setup) RequestTypeByte(in bool) byte {
	b := byte(s.Type)<<5 | byte(s.Recipient)
	if in {
		b |= 0x80
	}
	return b
}

// Control is the control pipe of a USB device. Implementations report a
// stalled request as an error wrapping ErrStall and a device that is gone
// as one wrapping ErrDisconnected, and honour ctx.
type Control interface {
	// ControlIn makes an IN control transfer of at most length bytes.
	ControlIn(ctx context.Context, s Setup, length int) ([]byte, error)
	// ControlOut makes an OUT control transfer with data, which may be
	// empty.
	ControlOut(ctx context.Context, s Setup, data []byte) error
	// SelectAlternate selects an alternate setting of an interface (the
	// standard SET_INTERFACE request, which browsers make through their
	// own call).
	SelectAlternate(ctx context.Context, iface, alt uint8) error
}

// Resetter is implemented by a Control that can reset its device (a USB bus
// reset), which a device without bitWillDetach needs after DETACH.
type Resetter interface {
	Reset(ctx context.Context) error
}

// Closer is implemented by a Control that holds resources.
type Closer interface {
	Close() error
}

// DFU class requests (DFU 1.1, section 3).
const (
	reqDetach    = 0
	reqDnload    = 1
	reqUpload    = 2
	reqGetStatus = 3
	reqClrStatus = 4
	reqGetState  = 5
	reqAbort     = 6
)

// Standard requests used by Describe.
const (
	reqGetDescriptor = 6
	descDevice       = 1
	descConfig       = 2
	descString       = 3
	descInterface    = 4
	descEndpoint     = 5
	descFunctional   = 0x21
)
