//go:build !(js && wasm)

package webusb

import (
	"context"

	"trustforge/devices/dfu"
	"trustforge/internal/browser"
)

// Devices is the browser's WebUSB API; outside a browser its calls fail with
// errs.Unsupported.
var Devices = &browser.DeviceAPI[*Device, Event, Filter]{Missing: errs.Unsupported}

// Device is a USB device of the browser; outside a browser none exists.
type Device struct{}

// Info describes the device.
func (d *Device) Info() Info { return Info{} }

// Same reports whether d and e are the same device.
func (d *Device) Same(e *Device) bool { return d != nil && d == e }

// Opened reports whether the device is open: never outside a browser.
func (d *Device) Opened() bool { return false }

// Configuration returns 0 outside a browser.
func (d *Device) Configuration() uint8 { return 0 }

// Open fails with errs.Unsupported outside a browser.
func (d *Device) Open(ctx context.Context) error { return errs.Unsupported }

// Close does nothing.
func (d *Device) Close(ctx context.Context) error { return nil }

// SelectConfiguration fails with errs.Unsupported outside a browser.
func (d *Device) SelectConfiguration(ctx context.Context, value uint8) error { return errs.Unsupported }

// ClaimInterface fails with errs.Unsupported outside a browser.
func (d *Device) ClaimInterface(ctx context.Context, n uint8) error { return errs.Unsupported }

// ReleaseInterface fails with errs.Unsupported outside a browser.
func (d *Device) ReleaseInterface(ctx context.Context, n uint8) error { return errs.Unsupported }

// SelectAlternate fails with errs.Unsupported outside a browser.
func (d *Device) SelectAlternate(ctx context.Context, iface, alt uint8) error {
	return errs.Unsupported
}

// ControlIn fails with errs.Unsupported outside a browser.
func (d *Device) ControlIn(ctx context.Context, s Setup, length int) ([]byte, error) {
	return nil, errs.Unsupported
}

// ControlOut fails with errs.Unsupported outside a browser.
func (d *Device) ControlOut(ctx context.Context, s Setup, data []byte) (int, error) {
	return 0, errs.Unsupported
}

// TransferIn fails with errs.Unsupported outside a browser.
func (d *Device) TransferIn(ctx context.Context, endpoint uint8, length int) ([]byte, error) {
	return nil, errs.Unsupported
}

// TransferOut fails with errs.Unsupported outside a browser.
func (d *Device) TransferOut(ctx context.Context, endpoint uint8, data []byte) (int, error) {
	return 0, errs.Unsupported
}

// ClearHalt fails with errs.Unsupported outside a browser.
func (d *Device) ClearHalt(ctx context.Context, dir Direction, endpoint uint8) error {
	return errs.Unsupported
}

// Reset fails with errs.Unsupported outside a browser.
func (d *Device) Reset(ctx context.Context) error { return errs.Unsupported }

// Forget fails with errs.Unsupported outside a browser.
func (d *Device) Forget(ctx context.Context) error { return errs.Unsupported }

// Bulk is a byte stream over a bulk endpoint pair; outside a browser none
// opens.
type Bulk struct{}

// OpenBulk fails with errs.Unsupported outside a browser.
func OpenBulk(ctx context.Context, d *Device) (*Bulk, error) { return nil, errs.Unsupported }

// Read fails: a Bulk never opens outside a browser.
func (b *Bulk) Read(ctx context.Context, p []byte) (int, error) { return 0, errs.Unsupported }

// Write fails: a Bulk never opens outside a browser.
func (b *Bulk) Write(ctx context.Context, p []byte) (int, error) { return 0, errs.Unsupported }

// Close does nothing.
func (b *Bulk) Close() error { return nil }

// DFUControl is a device's control pipe for devices/dfu; outside a browser
// there is none.
type DFUControl struct{}

// OpenDFU fails outside a browser.
func OpenDFU(ctx context.Context, d *Device) (*DFUControl, error) { return nil, errs.Unsupported }

// Device returns nil outside a browser.
func (c *DFUControl) Device() *Device { return nil }

// ControlIn fails outside a browser.
func (c *DFUControl) ControlIn(ctx context.Context, s dfu.Setup, length int) ([]byte, error) {
	return nil, errs.Unsupported
}

// ControlOut fails outside a browser.
func (c *DFUControl) ControlOut(ctx context.Context, s dfu.Setup, data []byte) error {
	return errs.Unsupported
}

// SelectAlternate fails outside a browser.
func (c *DFUControl) SelectAlternate(ctx context.Context, iface, alt uint8) error {
	return errs.Unsupported
}

// Reset fails outside a browser.
func (c *DFUControl) Reset(ctx context.Context) error { return errs.Unsupported }

// Close does nothing.
func (c *DFUControl) Close() error { return nil }

// FindDFU returns a finder that fails outside a browser.
func FindDFU(serial string) dfu.Finder {
	return func(ctx context.Context) (dfu.Control, error) { return nil, errs.Unsupported }
}
