package webusb

import (
	"errors"

	"trustforge/devices/dfu"
	"trustforge/internal/usererr"
)

// DFU interface class, subclass and protocols (USB DFU 1.1).
const (
	DFUClass    = dfu.ClassApplication
	DFUSubclass = dfu.SubclassDFU
)

// IsDFU reports whether a device's configuration has a DFU interface, in
// run-time or DFU mode, as WebUSB describes it.
func (i Info) IsDFU() bool {
	for _, c := range i.Configurations {
		for _, it := range c.Interfaces {
			if it.Class == DFUClass && it.Subclass == DFUSubclass {
				return true
			}
		}
	}
	return false
}

// dfuSetup turns a DFU setup packet into WebUSB's.
func dfuSetup(s dfu.Setup) Setup {
	return Setup{
		RequestType: [...]string{"standard", "class", "vendor", "vendor"}[s.Type&3],
		Recipient:   [...]string{"device", "interface", "endpoint", "other"}[s.Recipient&3],
		Request:     s.Request, Value: s.Value, Index: s.Index,
	}
}

// dfuErr maps the package's errors onto those devices/dfu branches on.
func dfuErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrStall):
		return usererr.Errorf("", "%w: %w", dfu.ErrStall, err)
	case errors.Is(err, errs.Disconnected):
		return usererr.Errorf("", "%w: %w", dfu.ErrDisconnected, err)
	}
	return err
}
