package dfu

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"

	"trustforge/internal/usererr"
)

// Errors of ParseFile.
var (
	// ErrFile reports a malformed DFU file.
	ErrFile = usererr.New("dfu", "malformed DFU file")
	// ErrCRC reports a DFU file whose suffix CRC does not match its bytes.
	ErrCRC = usererr.New("dfu", "DFU file CRC mismatch")
)

// Sizes of the DFU file's parts (DFU 1.1 appendix B; ST UM0391).
const (
	suffixLen       = 16
	prefixLen       = 11
	targetPrefixLen = 274
	elementHdrLen   = 8
	targetNameLen   = 255
)

// AnyID is the suffix value that matches any vendor, product or release.
const AnyID = 0xffff

// Target is one image of a DfuSe file: the elements to write through an
// alternate setting.
type Target struct {
	Alternate uint8
	// Name is the target's name; Named says whether the file gave one.
	Name     string
	Named    bool
	Elements []Element
}

// File is a DFU file: firmware followed by the DFU suffix, and in the DfuSe
// format, a prefix and targets of addressed elements.
type File struct {
	// VendorID, ProductID and Device (bcdDevice) say which device the file
	// is for; AnyID matches any.
	VendorID, ProductID, Device uint16
	// DFUVersion is the suffix's bcdDFU: VersionDfuSe (0x011a) for DfuSe
	// files, Version10 (0x0100) for plain ones. Zero means DfuSe when
	// Targets is set, plain otherwise.
	DFUVersion uint16
	// Targets are the images of a DfuSe file.
	Targets []Target
	// Payload is the firmware of a plain DFU file.
	Payload []byte
}

// DfuSe reports whether the file is in the DfuSe format.
func (f *File) DfuSe() bool {
	return f.DFUVersion == VersionDfuSe || (f.DFUVersion == 0 && f.Targets != nil)
}

// dfuCRC is the suffix's CRC as the DFU specification defines it: CRC-32
// (IEEE 802.3) of every byte before the CRC field, the register initialised
// to all ones and not inverted at the end.
func dfuCRC(b []byte) uint32 { return ^crc32.ChecksumIEEE(b) }

// ParseFile reads a DFU file: it checks the suffix and its CRC and, for a
// DfuSe file, the prefix, targets and elements.
func ParseFile(b []byte) (*File, error) {
	if len(b) < suffixLen {
		return nil, usererr.Errorf("", "%w: %d bytes, shorter than the %d-byte suffix", ErrFile, len(b), suffixLen)
	}
	s := b[len(b)-suffixLen:]
	if string(s[8:11]) != "UFD" {
		return nil, usererr.Errorf("", "%w: no DFU suffix (signature % x, want \"UFD\")", ErrFile, s[8:11])
	}
	n := int(s[11])
	if n < suffixLen || n > len(b) {
		return nil, usererr.Errorf("", "%w: suffix length %d", ErrFile, n)
	}
	if got, want := binary.LittleEndian.Uint32(s[12:]), dfuCRC(b[:len(b)-4]); got != want {
		return nil, usererr.Errorf("", "%w: suffix says %#08x, the file's bytes give %#08x", ErrCRC, got, want)
	}
	f := &File{
		Device:     binary.LittleEndian.Uint16(s[0:]),
		ProductID:  binary.LittleEndian.Uint16(s[2:]),
		VendorID:   binary.LittleEndian.Uint16(s[4:]),
		DFUVersion: binary.LittleEndian.Uint16(s[6:]),
	}
	body := b[:len(b)-n]
	if f.DFUVersion != VersionDfuSe {
		f.Payload = body
		return f, nil
	}
	return f, f.parseDfuSe(body)
}

func (f *File) parseDfuSe(b []byte) error {
	if len(b) < prefixLen || string(b[:5]) != "DfuSe" {
		return usererr.Errorf("", "%w: bcdDFU 0x011a but no \"DfuSe\" prefix", ErrFile)
	}
	if b[5] != 1 {
		return usererr.Errorf("", "%w: DfuSe prefix version %d, want 1", ErrFile, b[5])
	}
	if size := binary.LittleEndian.Uint32(b[6:]); uint64(size) != uint64(len(b)) {
		return usererr.Errorf("", "%w: DfuSe prefix gives an image size of %d bytes, the file holds %d before its suffix", ErrFile, size, len(b))
	}
	targets := int(b[10])
	f.Targets = make([]Target, 0, min(targets, 8))
	off := prefixLen
	for t := range targets {
		if len(b)-off < targetPrefixLen || string(b[off:off+6]) != "Target" {
			return usererr.Errorf("", "%w: target %d: no \"Target\" prefix at offset %d", ErrFile, t, off)
		}
		p := b[off : off+targetPrefixLen]
		tg := Target{Alternate: p[6], Named: binary.LittleEndian.Uint32(p[7:]) != 0}
		if tg.Named {
			name := p[11 : 11+targetNameLen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			tg.Name = string(name)
		}
		size := uint64(binary.LittleEndian.Uint32(p[266:]))
		count := binary.LittleEndian.Uint32(p[270:])
		off += targetPrefixLen
		if size > uint64(len(b)-off) {
			return usererr.Errorf("", "%w: target %d of %d bytes, %d left in the file", ErrFile, t, size, len(b)-off)
		}
		end := off + int(size)
		for e := range count {
			if end-off < elementHdrLen {
				return usererr.Errorf("", "%w: target %d: element %d of %d runs past the target's %d bytes", ErrFile, t, e, count, size)
			}
			addr := binary.LittleEndian.Uint32(b[off:])
			n := uint64(binary.LittleEndian.Uint32(b[off+4:]))
			off += elementHdrLen
			if n > uint64(end-off) {
				return usererr.Errorf("", "%w: target %d: element %d at %#08x of %d bytes runs past the target", ErrFile, t, e, addr, n)
			}
			if uint64(addr)+n > 1<<32 {
				return usererr.Errorf("", "%w: target %d: element %d at %#08x of %d bytes runs past 4 GiB", ErrFile, t, e, addr, n)
			}
			tg.Elements = append(tg.Elements, Element{Address: addr, Data: b[off : off+int(n)]})
			off += int(n)
		}
		if off != end {
			return usererr.Errorf("", "%w: target %d: its elements hold %d bytes, its prefix says %d", ErrFile, t, int(size)-(end-off), size)
		}
		f.Targets = append(f.Targets, tg)
	}
	if off != len(b) {
		return usererr.Errorf("", "%w: %d bytes after the last target", ErrFile, len(b)-off)
	}
	return nil
}

// Bytes encodes the file, with its DfuSe prefix and targets when it is a
// DfuSe file, and the suffix with its CRC.
func (f *File) Bytes() ([]byte, error) {
	var b []byte
	version := f.DFUVersion
	if f.DfuSe() {
		version = VersionDfuSe
		if f.Payload != nil {
			return nil, usererr.Errorf("dfu", "a DfuSe file carries targets, not a payload")
		}
		if len(f.Targets) > 255 {
			return nil, usererr.Errorf("dfu", "%d targets, a DfuSe file holds at most 255", len(f.Targets))
		}
		b = append(b, "DfuSe"...)
		b = append(b, 1, 0, 0, 0, 0, byte(len(f.Targets)))
		for i, t := range f.Targets {
			if len(t.Name) > targetNameLen-1 {
				return nil, usererr.Errorf("dfu", "target %d: name of %d bytes, at most %d", i, len(t.Name), targetNameLen-1)
			}
			var size uint64
			for _, e := range t.Elements {
				size += elementHdrLen + uint64(len(e.Data))
			}
			if size > 1<<32-1 {
				return nil, usererr.Errorf("dfu", "target %d holds more than 4 GiB", i)
			}
			p := make([]byte, targetPrefixLen)
			copy(p, "Target")
			p[6] = t.Alternate
			if t.Named || t.Name != "" {
				p[7] = 1
				copy(p[11:], t.Name)
			}
			binary.LittleEndian.PutUint32(p[266:], uint32(size))
			binary.LittleEndian.PutUint32(p[270:], uint32(len(t.Elements)))
			b = append(b, p...)
			for _, e := range t.Elements {
				b = binary.LittleEndian.AppendUint32(b, e.Address)
				b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Data)))
				b = append(b, e.Data...)
			}
		}
		if uint64(len(b)) > 1<<32-1 {
			return nil, usererr.Errorf("dfu", "the file would exceed 4 GiB")
		}
		binary.LittleEndian.PutUint32(b[6:], uint32(len(b)))
	} else {
		if version == 0 {
			version = Version10
		}
		b = append(b, f.Payload...)
	}
	b = binary.LittleEndian.AppendUint16(b, f.Device)
	b = binary.LittleEndian.AppendUint16(b, f.ProductID)
	b = binary.LittleEndian.AppendUint16(b, f.VendorID)
	b = binary.LittleEndian.AppendUint16(b, version)
	b = append(b, 'U', 'F', 'D', suffixLen)
	return binary.LittleEndian.AppendUint32(b, dfuCRC(b)), nil
}
