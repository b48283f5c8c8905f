package dfu

import (
	"encoding/binary"
	"time"
	"unicode/utf16"

	"trustforge/internal/usererr"
)

// USB interface class and subclass of DFU, and its two protocols.
const (
	ClassApplication = 0xfe
	SubclassDFU      = 0x01
	ProtocolRuntime  = 0x01
	ProtocolDFUMode  = 0x02
)

// DFU versions a functional descriptor announces (bcdDFUVersion).
const (
	Version10    = 0x0100
	Version11    = 0x0110
	VersionDfuSe = 0x011a
)

// ErrDescriptor reports a malformed USB descriptor.
var ErrDescriptor = usererr.New("dfu", "malformed descriptor")

// Functional is the DFU functional descriptor (DFU 1.1 section 4.1.3).
type Functional struct {
	CanDownload           bool // bitCanDnload
	CanUpload             bool // bitCanUpload
	ManifestationTolerant bool // bitManifestationTolerant: answers after manifestation
	WillDetach            bool // bitWillDetach: detaches itself on DFU_DETACH
	// DetachTimeout is the longest the device waits for a USB reset after
	// DFU_DETACH (wDetachTimeOut).
	DetachTimeout time.Duration
	// TransferSize is the most bytes one DNLOAD or UPLOAD carries
	// (wTransferSize).
	TransferSize int
	// Version is bcdDFUVersion: Version11, VersionDfuSe for ST's
	// extension, or Version10 for the 7-byte descriptor of DFU 1.0.
	Version uint16
}

// ParseFunctional decodes a functional descriptor, with its length and type
// bytes.
func ParseFunctional(b []byte) (Functional, error) {
	if len(b) < 7 || int(b[0]) > len(b) || b[0] < 7 || b[1] != descFunctional {
		return Functional{}, usererr.Errorf("", "%w: DFU functional descriptor of %d bytes", ErrDescriptor, len(b))
	}
	f := Functional{
		CanDownload:           b[2]&1 != 0,
		CanUpload:             b[2]&2 != 0,
		ManifestationTolerant: b[2]&4 != 0,
		WillDetach:            b[2]&8 != 0,
		DetachTimeout:         time.Duration(binary.LittleEndian.Uint16(b[3:])) * time.Millisecond,
		TransferSize:          int(binary.LittleEndian.Uint16(b[5:])),
		Version:               Version10,
	}
	if b[0] >= 9 {
		f.Version = binary.LittleEndian.Uint16(b[7:])
	}
	if f.TransferSize == 0 {
		return Functional{}, usererr.Errorf("", "%w: DFU functional descriptor with a transfer size of 0", ErrDescriptor)
	}
	return f, nil
}

// Bytes encodes the descriptor as a device sends it (9 bytes).
func (f Functional) Bytes() []byte {
	var attr byte
	for i, set := range []bool{f.CanDownload, f.CanUpload, f.ManifestationTolerant, f.WillDetach} {
		if set {
			attr |= 1 << i
		}
	}
	b := []byte{9, descFunctional, attr, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(b[3:], uint16(min(f.DetachTimeout/time.Millisecond, 0xffff)))
	binary.LittleEndian.PutUint16(b[5:], uint16(f.TransferSize))
	binary.LittleEndian.PutUint16(b[7:], f.Version)
	return b
}

// DfuSe reports whether the descriptor announces ST's DfuSe extension.
func (f Functional) DfuSe() bool { return f.Version == VersionDfuSe }

// AltSetting is one alternate setting of an interface.
type AltSetting struct {
	Interface, Alternate      uint8
	Class, Subclass, Protocol uint8
	// NameIndex is the string descriptor index of its name (iInterface);
	// Name is that string once read.
	NameIndex uint8
	Name      string
	// Functional is the DFU functional descriptor of the interface, nil on
	// interfaces that are not DFU or lack one.
	Functional *Functional
	// Endpoints are the addresses of the setting's endpoints (bit 7 set
	// for IN), all bulk with 64-byte packets when BuildConfiguration
	// writes them. DFU interfaces have none.
	Endpoints []uint8
}

// IsDFU reports whether the setting is a DFU interface (class 0xfe,
// subclass 0x01), in run-time or DFU mode.
func (a AltSetting) IsDFU() bool { return a.Class == ClassApplication && a.Subclass == SubclassDFU }

// Runtime reports whether the setting is a DFU run-time interface: the
// device runs its application and must be detached into DFU mode.
func (a AltSetting) Runtime() bool { return a.IsDFU() && a.Protocol == ProtocolRuntime }

// Layout parses the setting's name as a DfuSe memory layout. It fails for
// names that are not one ("image-1").
func (a AltSetting) Layout() (*Layout, error) { return ParseLayout(a.Name) }

// ParseConfiguration decodes a configuration descriptor with everything
// that follows it (wTotalLength bytes) into its interfaces' alternate
// settings, in order. A DFU functional descriptor applies to every
// alternate setting of the interface it appears within.
func ParseConfiguration(b []byte) ([]AltSetting, error) {
	if len(b) < 9 || b[1] != descConfig || b[0] < 9 {
		return nil, usererr.Errorf("", "%w: configuration descriptor header", ErrDescriptor)
	}
	total := int(binary.LittleEndian.Uint16(b[2:]))
	if total < int(b[0]) || total > len(b) {
		return nil, usererr.Errorf("", "%w: configuration of %d bytes, %d read", ErrDescriptor, total, len(b))
	}
	b = b[:total]
	var alts []AltSetting
	fns := map[uint8]*Functional{}
	cur := -1
	for off := int(b[0]); off < len(b); {
		n := int(b[off])
		if n < 2 || off+n > len(b) {
			return nil, usererr.Errorf("", "%w: descriptor of length %d at offset %d of %d", ErrDescriptor, n, off, len(b))
		}
		d := b[off : off+n]
		switch d[1] {
		case descInterface:
			if n < 9 {
				return nil, usererr.Errorf("", "%w: interface descriptor of %d bytes", ErrDescriptor, n)
			}
			alts = append(alts, AltSetting{Interface: d[2], Alternate: d[3], Class: d[5], Subclass: d[6], Protocol: d[7], NameIndex: d[8]})
			cur = int(d[2])
		case descEndpoint:
			if n < 7 || len(alts) == 0 {
				return nil, usererr.Errorf("", "%w: endpoint descriptor of %d bytes outside an interface", ErrDescriptor, n)
			}
			last := &alts[len(alts)-1]
			last.Endpoints = append(last.Endpoints, d[2])
		case descFunctional:
			if cur < 0 {
				return nil, usererr.Errorf("", "%w: DFU functional descriptor before any interface", ErrDescriptor)
			}
			f, err := ParseFunctional(d)
			if err != nil {
				return nil, err
			}
			fns[uint8(cur)] = &f
		}
		off += n
	}
	for i := range alts {
		if alts[i].IsDFU() {
			alts[i].Functional = fns[alts[i].Interface]
		}
	}
	return alts, nil
}

// BuildConfiguration encodes a configuration descriptor (value 1,
// bus-powered, 100 mA) holding alts, each DFU interface's functional
// descriptor after its last alternate setting, as a device sends it.
func BuildConfiguration(alts []AltSetting) []byte {
	b := []byte{9, descConfig, 0, 0, 0, 1, 0, 0x80, 50}
	ifaces := map[uint8]bool{}
	for i, a := range alts {
		ifaces[a.Interface] = true
		b = append(b, 9, descInterface, a.Interface, a.Alternate, byte(len(a.Endpoints)), a.Class, a.Subclass, a.Protocol, a.NameIndex)
		for _, ep := range a.Endpoints {
			b = append(b, 7, descEndpoint, ep, 2, 64, 0, 0)
		}
		last := i == len(alts)-1 || alts[i+1].Interface != a.Interface
		if last && a.Functional != nil {
			b = append(b, a.Functional.Bytes()...)
		}
	}
	binary.LittleEndian.PutUint16(b[2:], uint16(len(b)))
	b[4] = byte(len(ifaces))
	return b
}

// DeviceDescriptor is the part of the USB device descriptor DFU needs.
type DeviceDescriptor struct {
	VendorID, ProductID, Release uint16
	// String descriptor indexes.
	Manufacturer, Product, Serial uint8
}

// ParseDeviceDescriptor decodes an 18-byte device descriptor.
func ParseDeviceDescriptor(b []byte) (DeviceDescriptor, error) {
	if len(b) < 18 || b[0] < 18 || b[1] != descDevice {
		return DeviceDescriptor{}, usererr.Errorf("", "%w: device descriptor of %d bytes", ErrDescriptor, len(b))
	}
	return DeviceDescriptor{
		VendorID:     binary.LittleEndian.Uint16(b[8:]),
		ProductID:    binary.LittleEndian.Uint16(b[10:]),
		Release:      binary.LittleEndian.Uint16(b[12:]),
		Manufacturer: b[14], Product: b[15], Serial: b[16],
	}, nil
}

// Bytes encodes the descriptor as a USB 2.0 full-speed device with one
// configuration and a 64-byte control endpoint.
func (d DeviceDescriptor) Bytes() []byte {
	b := []byte{18, descDevice, 0x00, 0x02, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, d.Manufacturer, d.Product, d.Serial, 1}
	binary.LittleEndian.PutUint16(b[8:], d.VendorID)
	binary.LittleEndian.PutUint16(b[10:], d.ProductID)
	binary.LittleEndian.PutUint16(b[12:], d.Release)
	return b
}

// ParseString decodes a string descriptor (UTF-16LE).
func ParseString(b []byte) (string, error) {
	if len(b) < 2 || int(b[0]) > len(b) || b[0] < 2 || b[1] != descString {
		return "", usererr.Errorf("", "%w: string descriptor of %d bytes", ErrDescriptor, len(b))
	}
	b = b[2:b[0]]
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// BuildString encodes s as a string descriptor, cut to the 126 UTF-16
// units one holds.
func BuildString(s string) []byte {
	u := utf16.Encode([]rune(s))
	if len(u) > 126 {
		u = u[:126]
	}
	b := []byte{byte(2 + 2*len(u)), descString}
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}
