package dfu

import (
	"errors"
	"fmt"
	"time"

	"trustforge/internal/usererr"
)

// State is a DFU device state (bState, DFU 1.1 section 6.1.2).
type State uint8

// DFU states.
const (
	AppIdle              State = 0
	AppDetach            State = 1
	DFUIdle              State = 2
	DFUDnloadSync        State = 3
	DFUDnbusy            State = 4
	DFUDnloadIdle        State = 5
	DFUManifestSync      State = 6
	DFUManifest          State = 7
	DFUManifestWaitReset State = 8
	DFUUploadIdle        State = 9
	DFUError             State = 10
)

var stateNames = [...]string{
	"appIDLE", "appDETACH", "dfuIDLE", "dfuDNLOAD-SYNC", "dfuDNBUSY", "dfuDNLOAD-IDLE",
	"dfuMANIFEST-SYNC", "dfuMANIFEST", "dfuMANIFEST-WAIT-RESET", "dfuUPLOAD-IDLE", "dfuERROR",
}

// String returns the state's name as the specification writes it.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state %d", uint8(s))
}

// Status is a DFU status code (bStatus, DFU 1.1 section 6.1.2).
type Status uint8

// DFU status codes.
const (
	StatusOK           Status = 0x00
	StatusTarget       Status = 0x01
	StatusFile         Status = 0x02
	StatusWrite        Status = 0x03
	StatusErase        Status = 0x04
	StatusCheckErased  Status = 0x05
	StatusProg         Status = 0x06
	StatusVerify       Status = 0x07
	StatusAddress      Status = 0x08
	StatusNotDone      Status = 0x09
	StatusFirmware     Status = 0x0a
	StatusVendor       Status = 0x0b
	StatusUSBReset     Status = 0x0c
	StatusPowerOnReset Status = 0x0d
	StatusUnknown      Status = 0x0e
	StatusStalledPkt   Status = 0x0f
)

var statusNames = [...]string{
	"OK", "errTARGET", "errFILE", "errWRITE", "errERASE", "errCHECK_ERASED", "errPROG", "errVERIFY",
	"errADDRESS", "errNOTDONE", "errFIRMWARE", "errVENDOR", "errUSBR", "errPOR", "errUNKNOWN", "errSTALLEDPKT",
}

// statusText says what each status means, for the person reading it.
var statusText = [...]string{
	"no error",
	"the file is not meant for this device",
	"the file is for this device but failed a vendor-specific check",
	"the device could not write the memory",
	"the memory erase failed",
	"the memory erase check failed (memory not blank after erase)",
	"the program memory function failed",
	"the programmed memory failed verification",
	"the address is outside the device's memory",
	"the device received the end of the download but thinks it incomplete",
	"the device's firmware is corrupt and it cannot return to run-time (non-DFU) operations",
	"vendor-specific error",
	"the device detected an unexpected USB reset",
	"the device detected an unexpected power-on reset",
	"unknown error",
	"the device stalled an unexpected request",
}

// String returns the status code's name as the specification writes it.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status %#02x", uint8(s))
}

// Text says in words what the status means.
func (s Status) Text() string {
	if int(s) < len(statusText) {
		return statusText[s]
	}
	return "a status code DFU 1.1 does not define"
}

// StatusReport is the answer to DFU_GETSTATUS.
type StatusReport struct {
	Status Status
	// PollTimeout is how long the host must wait before the next
	// GETSTATUS (bwPollTimeout, in milliseconds on the wire).
	PollTimeout time.Duration
	State       State
	// StringIndex is the index of a string descriptor describing the
	// status, or 0 (iString).
	StringIndex uint8
}

// ParseStatus decodes the six bytes of a GETSTATUS answer.
func ParseStatus(b []byte) (StatusReport, error) {
	if len(b) < 6 {
		return StatusReport{}, usererr.Errorf("dfu", "GETSTATUS answer of %d bytes, want 6", len(b))
	}
	ms := uint32(b[1]) | uint32(b[2])<<8 | uint32(b[3])<<16
	return StatusReport{Status: Status(b[0]), PollTimeout: time.Duration(ms) * time.Millisecond, State: State(b[4]), StringIndex: b[5]}, nil
}

// Bytes encodes the report as a device sends it. PollTimeout is rounded
// up to whole milliseconds and capped at 2^24-1 ms.
func (r StatusReport) Bytes() []byte {
	ms := (r.PollTimeout + time.Millisecond - 1) / time.Millisecond
	if ms > 0xffffff {
		ms = 0xffffff
	}
	return []byte{byte(r.Status), byte(ms), byte(ms >> 8), byte(ms >> 16), byte(r.State), r.StringIndex}
}

// StatusError is a DFU error status a device reported. Errors from Device
// wrap it; errors.As finds it.
type StatusError struct {
	// Op is what the host was doing ("download block 12", "erase 0x08004000").
	Op     string
	Status Status
	State  State
	// Detail is the device's own description (the iString descriptor), or
	// empty.
	Detail string
}

func (e *StatusError) Error() string { return "dfu: " + e.UserMessage() }

// UserMessage says what the device reported while doing what, for people.
func (e *StatusError) UserMessage() string {
	s := fmt.Sprintf("%s: the device reports %s: %s", e.Op, e.Status, e.Status.Text())
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Is lets errors.Is(err, dfu.ErrStatus(dfu.StatusWrite)) match a status.
func (e *StatusError) Is(target error) bool {
	var t *StatusError
	if errors.As(target, &t) {
		return t.Op == "" && t.Status == e.Status
	}
	return false
}

// ErrStatus returns an error that errors.Is matches against any
// StatusError carrying status s.
func ErrStatus(s Status) error { return &StatusError{Status: s} }
