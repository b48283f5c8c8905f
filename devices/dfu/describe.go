package dfu

import (
	"context"
	"encoding/binary"

	"trustforge/internal/usererr"
)

// Description is what Describe learns of a device.
type Description struct {
	DeviceDescriptor
	ManufacturerName, ProductName, SerialNumber string
	// Alternates are every alternate setting of the device's first
	// configuration, names filled in.
	Alternates []AltSetting
}

// DFU returns the DFU alternate settings, run-time or DFU mode.
func (d *Description) DFU() []AltSetting {
	var out []AltSetting
	for _, a := range d.Alternates {
		if a.IsDFU() {
			out = append(out, a)
		}
	}
	return out
}

// Mode returns "runtime" when the device runs its application with a DFU
// run-time interface, "dfu" when it is in DFU mode, and "" when it has no
// DFU interface.
func (d *Description) Mode() string {
	for _, a := range d.DFU() {
		if a.Runtime() {
			return "runtime"
		}
		return "dfu"
	}
	return ""
}

// langEnglishUS is the language ID strings are read in when the device
// lists none.
const langEnglishUS = 0x0409

// Describe reads the device, configuration and string descriptors of the
// device behind c with standard GET_DESCRIPTOR requests.
func Describe(ctx context.Context, c Control) (*Description, error) {
	get := func(typ, index uint8, lang uint16, n int) ([]byte, error) {
		b, err := c.ControlIn(ctx, Setup{Type: Standard, Recipient: ToDevice, Request: reqGetDescriptor,
			Value: uint16(typ)<<8 | uint16(index), Index: lang}, n)
		if err != nil {
			return nil, usererr.Errorf("dfu", "reading descriptor %d/%d: %w", typ, index, err)
		}
		return b, nil
	}
	b, err := get(descDevice, 0, 0, 18)
	if err != nil {
		return nil, err
	}
	dd, err := ParseDeviceDescriptor(b)
	if err != nil {
		return nil, err
	}
	hdr, err := get(descConfig, 0, 0, 9)
	if err != nil {
		return nil, err
	}
	if len(hdr) < 4 {
		return nil, usererr.Errorf("", "%w: configuration header of %d bytes", ErrDescriptor, len(hdr))
	}
	cfg, err := get(descConfig, 0, 0, int(binary.LittleEndian.Uint16(hdr[2:])))
	if err != nil {
		return nil, err
	}
	alts, err := ParseConfiguration(cfg)
	if err != nil {
		return nil, err
	}
	d := &Description{DeviceDescriptor: dd, Alternates: alts}
	lang := uint16(langEnglishUS)
	if l, err := get(descString, 0, 0, 255); err == nil && len(l) >= 4 && l[1] == descString {
		lang = binary.LittleEndian.Uint16(l[2:])
	}
	str := func(i uint8) string {
		if i == 0 {
			return ""
		}
		b, err := get(descString, i, lang, 255)
		if err != nil {
			return ""
		}
		s, _ := ParseString(b)
		return s
	}
	d.ManufacturerName, d.ProductName, d.SerialNumber = str(dd.Manufacturer), str(dd.Product), str(dd.Serial)
	for i := range d.Alternates {
		d.Alternates[i].Name = str(d.Alternates[i].NameIndex)
	}
	return d, nil
}
