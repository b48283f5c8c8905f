//go:build js && wasm

package webusb

import (
	"context"
	"errors"
	"time"

	"trustforge/devices/dfu"
)

// DFUControl is a device's control pipe as devices/dfu wants it: a
// dfu.Control, dfu.Resetter and dfu.Closer over WebUSB. Interfaces are
// claimed as requests to them need it.
type DFUControl struct {
	dev     *Device
	claimed map[uint16]bool
}

// OpenDFU opens d (when it is not open) with its first configuration
// selected, for devices/dfu.
func OpenDFU(ctx context.Context, d *Device) (*DFUControl, error) {
	if !d.Opened() {
		if err := d.Open(ctx); err != nil {
			return nil, dfuErr(err)
		}
	}
	if d.Configuration() == 0 {
		if len(d.info.Configurations) == 0 {
			return nil, ErrNoInterface
		}
		if err := d.SelectConfiguration(ctx, d.info.Configurations[0].Value); err != nil {
			return nil, dfuErr(err)
		}
	}
	return &DFUControl{dev: d, claimed: map[uint16]bool{}}, nil
}

// Device returns the WebUSB device.
func (c *DFUControl) Device() *Device { return c.dev }

func (c *DFUControl) claim(ctx context.Context, iface uint16) error {
	if c.claimed[iface] {
		return nil
	}
	if err := c.dev.ClaimInterface(ctx, uint8(iface)); err != nil {
		return dfuErr(err)
	}
	c.claimed[iface] = true
	return nil
}

// ControlIn makes an IN control transfer.
func (c *DFUControl) ControlIn(ctx context.Context, s dfu.Setup, length int) ([]byte, error) {
	if s.Recipient == dfu.ToInterface {
		if err := c.claim(ctx, s.Index); err != nil {
			return nil, err
		}
	}
	b, err := c.dev.ControlIn(ctx, dfuSetup(s), length)
	return b, dfuErr(err)
}

// ControlOut makes an OUT control transfer.
func (c *DFUControl) ControlOut(ctx context.Context, s dfu.Setup, data []byte) error {
	if s.Recipient == dfu.ToInterface {
		if err := c.claim(ctx, s.Index); err != nil {
			return err
		}
	}
	_, err := c.dev.ControlOut(ctx, dfuSetup(s), data)
	return dfuErr(err)
}

// SelectAlternate claims the interface and selects an alternate setting.
func (c *DFUControl) SelectAlternate(ctx context.Context, iface, alt uint8) error {
	if err := c.claim(ctx, uint16(iface)); err != nil {
		return err
	}
	return dfuErr(c.dev.SelectAlternate(ctx, iface, alt))
}

// Reset resets the device (USBDevice.reset()).
func (c *DFUControl) Reset(ctx context.Context) error {
	err := c.dev.Reset(ctx)
	if errors.Is(err, errs.Disconnected) {
		return nil
	}
	return dfuErr(err)
}

// Close releases the interfaces and closes the device; a device already
// gone is not an error.
func (c *DFUControl) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for iface := range c.claimed {
		_ = c.dev.ReleaseInterface(ctx, uint8(iface))
	}
	if err := c.dev.Close(ctx); err != nil && !errors.Is(err, errs.Disconnected) {
		return err
	}
	return nil
}

// FindDFU returns a dfu.Finder for a device that re-enumerates: it looks
// among the granted devices for one with a DFU interface in DFU mode and,
// when serial is not empty, that serial number.
func FindDFU(serial string) dfu.Finder {
	return func(ctx context.Context) (dfu.Control, error) {
		devs, err := Devices.Granted(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range devs {
			i := d.Info()
			if !i.IsDFU() || (serial != "" && i.SerialNumber != serial) {
				continue
			}
			mode := false
			for _, c := range i.Configurations {
				for _, it := range c.Interfaces {
					if it.Class == DFUClass && it.Subclass == DFUSubclass && it.Protocol == dfu.ProtocolDFUMode {
						mode = true
					}
				}
			}
			if !mode {
				continue
			}
			return OpenDFU(ctx, d)
		}
		return nil, dfu.ErrDisconnected
	}
}
