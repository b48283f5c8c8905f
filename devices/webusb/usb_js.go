//go:build js && wasm

package webusb

import (
	"context"
	"fmt"

	"github.com/hack-pad/safejs"

	"trustforge/internal/browser"
	"trustforge/internal/usererr"
)

// Devices is the browser's WebUSB API (navigator.usb).
//
// Its Request shows the browser's device chooser and returns the device
// the person picked. It must follow a click or key press
// (errs.NeedsGesture); errs.NoneChosen means the chooser was dismissed.
// Cancel ctx to give up on a chooser that never answers.
//
// Its Granted returns the devices this origin may open without asking.
// Its Watch reports granted devices being plugged in and unplugged until
// ctx is done, when the channel closes; events beyond a small buffer are
// dropped if the receiver is slow.
var Devices = &browser.DeviceAPI[*Device, Event, Filter]{Name: "usb", Missing: errs.Unsupported, Noun: "device", RequestMethod: "requestDevice", ListMethod: "getDevices",
	EventAttr: "device", Wrap: newDevice, MapErr: mapErr, Filter: Filter.dict,
	Event: func(kind string, d *Device) Event { return Event{Type: EventType(kind), Device: d} }}

// dict is the filter as requestDevice takes it.
func (f Filter) dict() map[string]any {
	return browser.Dict("vendorId", int(f.VendorID), "productId", int(f.ProductID), "classCode", int(f.Class),
		"subclassCode", int(f.Subclass), "protocolCode", int(f.Protocol), "serialNumber", f.SerialNumber)
}

// Device is a USB device of the browser (a USBDevice). Its methods may be
// called from several goroutines; transfers on one endpoint are best kept
// to one goroutine.
type Device struct {
	v    safejs.Value
	info Info
}

func newDevice(v safejs.Value) *Device {
	d := &Device{v: v}
	d.info = readInfo(v)
	return d
}

func num(v safejs.Value, name string) int {
	x, err := v.Get(name)
	if err != nil || x.Type() != safejs.TypeNumber {
		return 0
	}
	n, _ := x.Int()
	return n
}

func str(v safejs.Value, name string) string {
	x, err := v.Get(name)
	if err != nil || x.Type() != safejs.TypeString {
		return ""
	}
	s, _ := x.String()
	return s
}

func each(v safejs.Value, name string, f func(safejs.Value)) {
	arr, err := v.Get(name)
	if err != nil || arr.Type() != safejs.TypeObject {
		return
	}
	n, err := arr.Length()
	if err != nil {
		return
	}
	for i := range n {
		if x, err := arr.Index(i); err == nil {
			f(x)
		}
	}
}

func readInfo(v safejs.Value) Info {
	i := Info{
		VendorID:     uint16(num(v, "vendorId")),
		ProductID:    uint16(num(v, "productId")),
		Class:        uint8(num(v, "deviceClass")),
		Manufacturer: str(v, "manufacturerName"),
		Product:      str(v, "productName"),
		SerialNumber: str(v, "serialNumber"),
		Version:      fmt.Sprintf("%d.%d.%d", num(v, "deviceVersionMajor"), num(v, "deviceVersionMinor"), num(v, "deviceVersionSubminor")),
	}
	each(v, "configurations", func(c safejs.Value) {
		cfg := Configuration{Value: uint8(num(c, "configurationValue")), Name: str(c, "configurationName")}
		each(c, "interfaces", func(it safejs.Value) {
			alt, err := it.Get("alternate")
			if err != nil || alt.Type() != safejs.TypeObject {
				return
			}
			ifc := Interface{
				Number:   uint8(num(it, "interfaceNumber")),
				Class:    uint8(num(alt, "interfaceClass")),
				Subclass: uint8(num(alt, "interfaceSubclass")),
				Protocol: uint8(num(alt, "interfaceProtocol")),
				Name:     str(alt, "interfaceName"),
			}
			each(it, "alternates", func(safejs.Value) { ifc.Alternates++ })
			each(alt, "endpoints", func(e safejs.Value) {
				ifc.Endpoints = append(ifc.Endpoints, Endpoint{
					Number:     uint8(num(e, "endpointNumber")),
					Direction:  Direction(str(e, "direction")),
					Type:       str(e, "type"),
					PacketSize: num(e, "packetSize"),
				})
			})
			cfg.Interfaces = append(cfg.Interfaces, ifc)
		})
		i.Configurations = append(i.Configurations, cfg)
	})
	return i
}

// Info describes the device, as it was when the Device was made.
func (d *Device) Info() Info { return d.info }

// Same reports whether d and e are the same browser device.
func (d *Device) Same(e *Device) bool { return d != nil && e != nil && d.v.Equal(e.v) }

// Opened reports whether the device is open.
func (d *Device) Opened() bool {
	o, err := d.v.Get("opened")
	if err != nil {
		return false
	}
	b, _ := o.Bool()
	return b
}

// Configuration returns the value of the selected configuration, or 0.
func (d *Device) Configuration() uint8 {
	c, err := d.v.Get("configuration")
	if err != nil || c.IsNull() || c.IsUndefined() {
		return 0
	}
	return uint8(num(c, "configurationValue"))
}

func await(ctx context.Context, v safejs.Value, method string, args ...any) (safejs.Value, error) {
	p, err := browser.Call(v, method, args...)
	if err != nil {
		return safejs.Undefined(), err
	}
	return browser.Await(ctx, p)
}

// Open opens the device for this page.
func (d *Device) Open(ctx context.Context) error {
	if _, err := await(ctx, d.v, "open"); err != nil {
		return mapErr(browser.OpOpen, "open", err)
	}
	d.info = readInfo(d.v)
	return nil
}

// Close closes the device, ending its pending transfers and releasing its
// interfaces.
func (d *Device) Close(ctx context.Context) error {
	if !d.Opened() {
		return nil
	}
	if _, err := await(ctx, d.v, "close"); err != nil {
		return mapErr(browser.OpOther, "close", err)
	}
	return nil
}

// SelectConfiguration selects a configuration by its value.
func (d *Device) SelectConfiguration(ctx context.Context, value uint8) error {
	if _, err := await(ctx, d.v, "selectConfiguration", int(value)); err != nil {
		return mapErr(browser.OpOther, "select configuration", err)
	}
	return nil
}

// ClaimInterface claims an interface of the selected configuration.
func (d *Device) ClaimInterface(ctx context.Context, n uint8) error {
	if _, err := await(ctx, d.v, "claimInterface", int(n)); err != nil {
		return mapErr(browser.OpOpen, "claim interface", err)
	}
	return nil
}

// ReleaseInterface releases a claimed interface; its pending transfers end.
func (d *Device) ReleaseInterface(ctx context.Context, n uint8) error {
	if _, err := await(ctx, d.v, "releaseInterface", int(n)); err != nil {
		return mapErr(browser.OpOther, "release interface", err)
	}
	return nil
}

// SelectAlternate selects an alternate setting of a claimed interface.
func (d *Device) SelectAlternate(ctx context.Context, iface, alt uint8) error {
	if _, err := await(ctx, d.v, "selectAlternateInterface", int(iface), int(alt)); err != nil {
		return mapErr(browser.OpOther, "select alternate setting", err)
	}
	return nil
}

func setupValue(s Setup) (safejs.Value, error) {
	return safejs.ValueOf(map[string]any{
		"requestType": s.RequestType,
		"recipient":   s.Recipient,
		"request":     int(s.Request),
		"value":       int(s.Value),
		"index":       int(s.Index),
	})
}

// ControlIn makes a control transfer from the device of at most length
// bytes.
func (d *Device) ControlIn(ctx context.Context, s Setup, length int) ([]byte, error) {
	sv, err := setupValue(s)
	if err != nil {
		return nil, err
	}
	r, err := await(ctx, d.v, "controlTransferIn", sv, length)
	if err != nil {
		return nil, mapErr(browser.OpOther, "control transfer in", err)
	}
	return inResult(r)
}

// ControlOut makes a control transfer to the device with data (which may
// be empty) and returns how many bytes were sent.
func (d *Device) ControlOut(ctx context.Context, s Setup, data []byte) (int, error) {
	sv, err := setupValue(s)
	if err != nil {
		return 0, err
	}
	args := []any{sv}
	if len(data) > 0 {
		arr, err := browser.BytesToJS(data)
		if err != nil {
			return 0, err
		}
		args = append(args, arr)
	}
	r, err := await(ctx, d.v, "controlTransferOut", args...)
	if err != nil {
		return 0, mapErr(browser.OpOther, "control transfer out", err)
	}
	return outResult(r)
}

// TransferIn reads at most length bytes from an IN endpoint (bulk or
// interrupt).
func (d *Device) TransferIn(ctx context.Context, endpoint uint8, length int) ([]byte, error) {
	r, err := await(ctx, d.v, "transferIn", int(endpoint), length)
	if err != nil {
		return nil, mapErr(browser.OpOther, "transfer in", err)
	}
	return inResult(r)
}

// TransferOut writes data to an OUT endpoint and returns how many bytes
// were sent.
func (d *Device) TransferOut(ctx context.Context, endpoint uint8, data []byte) (int, error) {
	arr, err := browser.BytesToJS(data)
	if err != nil {
		return 0, err
	}
	r, err := await(ctx, d.v, "transferOut", int(endpoint), arr)
	if err != nil {
		return 0, mapErr(browser.OpOther, "transfer out", err)
	}
	return outResult(r)
}

// ClearHalt clears a stalled endpoint.
func (d *Device) ClearHalt(ctx context.Context, dir Direction, endpoint uint8) error {
	if _, err := await(ctx, d.v, "clearHalt", string(dir), int(endpoint)); err != nil {
		return mapErr(browser.OpOther, "clear halt", err)
	}
	return nil
}

// Reset resets the device, as a bus reset does.
func (d *Device) Reset(ctx context.Context) error {
	if _, err := await(ctx, d.v, "reset"); err != nil {
		return mapErr(browser.OpOther, "reset", err)
	}
	return nil
}

// Forget revokes this origin's permission to the device.
func (d *Device) Forget(ctx context.Context) error {
	f, err := d.v.Get("forget")
	if err != nil || f.Type() != safejs.TypeFunction {
		return usererr.Errorf("webusb", "forget: %w", errs.Unsupported)
	}
	if _, err := await(ctx, d.v, "forget"); err != nil {
		return mapErr(browser.OpOther, "forget", err)
	}
	return nil
}

func transferStatus(r safejs.Value) error {
	switch str(r, "status") {
	case "ok", "":
		return nil
	case "stall":
		return ErrStall
	case "babble":
		return ErrBabble
	default:
		return usererr.Errorf("webusb", "transfer status %q", str(r, "status"))
	}
}

func inResult(r safejs.Value) ([]byte, error) {
	if err := transferStatus(r); err != nil {
		return nil, err
	}
	data, err := r.Get("data")
	if err != nil || data.IsNull() || data.IsUndefined() {
		return nil, nil
	}
	return browser.BytesFromJS(data)
}

func outResult(r safejs.Value) (int, error) {
	if err := transferStatus(r); err != nil {
		return 0, err
	}
	return num(r, "bytesWritten"), nil
}

// mapErr turns a rejected WebUSB call into the package's errors; op
// names the call in messages only, kind decides. A device that is gone
// is unplugged whatever the call.
func mapErr(kind browser.OpKind, op string, err error) error {
	if mapped, ok := errs.Map(kind, op, err); ok {
		return mapped
	}
	switch browser.ErrorName(err) {
	case "NotFoundError":
		return usererr.Errorf("webusb", "%s: %w", op, errs.Disconnected)
	case "InvalidStateError":
		return usererr.Errorf("webusb", "%s: %s", op, browser.Detail(err))
	}
	return usererr.Errorf("webusb", "%s: %w", op, err)
}
