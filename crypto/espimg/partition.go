package espimg

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"strings"

	"trustforge/internal/usererr"
)

// Partition table layout (ESP-IDF "Partition Tables").
const (
	// PartitionTableOffset is where the bootloader reads the table.
	PartitionTableOffset = 0x8000
	// PartitionTableSize is the table's flash sector.
	PartitionTableSize = 0xC00
	partEntrySize      = 32
)

// Partition types and the app subtypes.
const (
	PartTypeApp       = 0x00
	PartTypeData      = 0x01
	PartSubFactory    = 0x00
	PartSubOTA0       = 0x10
	PartFlagEncrypted = 1 << 0
)

// Partition is one entry of a partition table.
type Partition struct {
	Type, SubType byte
	Offset, Size  uint32
	Label         string
	Flags         uint32
}

// Encrypted reports the "encrypted" flag.
func (p Partition) Encrypted() bool { return p.Flags&PartFlagEncrypted != 0 }

// IsApp reports an app partition (factory, OTA or test).
func (p Partition) IsApp() bool { return p.Type == PartTypeApp }

// ParsePartitionTable reads a table: 32-byte entries starting with 0xAA
// 0x50, optionally an MD5 entry (0xEB 0xEB) checked against the entries
// before it, ended by erased flash.
func ParsePartitionTable(b []byte) ([]Partition, error) {
	var out []Partition
	for off := 0; ; off += partEntrySize {
		if off+partEntrySize > len(b) || off+partEntrySize > PartitionTableSize {
			return nil, usererr.Errorf("", "%w: partition table has no end marker", ErrMalformed)
		}
		e := b[off : off+partEntrySize]
		switch {
		case e[0] == 0xAA && e[1] == 0x50:
			p := Partition{Type: e[2], SubType: e[3], Offset: binary.LittleEndian.Uint32(e[4:]),
				Size: binary.LittleEndian.Uint32(e[8:]), Label: strings.TrimRight(string(e[12:28]), "\x00"),
				Flags: binary.LittleEndian.Uint32(e[28:])}
			if uint64(p.Offset)+uint64(p.Size) > 1<<32 || p.Size == 0 {
				return nil, usererr.Errorf("", "%w: partition %q at %#x of %d bytes", ErrMalformed, p.Label, p.Offset, p.Size)
			}
			out = append(out, p)
		case e[0] == 0xEB && e[1] == 0xEB:
			sum := md5.Sum(b[:off])
			if !bytes.Equal(e[16:32], sum[:]) {
				return nil, usererr.Errorf("", "%w: partition table MD5 does not match its entries", ErrChecksum)
			}
		case e[0] == 0xFF && e[1] == 0xFF:
			if len(out) == 0 {
				return nil, usererr.Errorf("", "%w: empty partition table", ErrMalformed)
			}
			return out, nil
		default:
			if off == 0 {
				return nil, usererr.Errorf("", "%w: no partition table (first bytes % x)", ErrNotImage, e[:2])
			}
			return nil, usererr.Errorf("", "%w: partition table entry %d has magic % x", ErrMalformed, off/partEntrySize, e[:2])
		}
	}
}

// BuildPartitionTable writes a table with its MD5 entry, padded with
// erased flash to PartitionTableSize.
func BuildPartitionTable(parts []Partition) ([]byte, error) {
	var b []byte
	for _, p := range parts {
		if len(p.Label) > 16 {
			return nil, usererr.Errorf("espimg", "partition label %q is over 16 bytes", p.Label)
		}
		e := make([]byte, partEntrySize)
		e[0], e[1], e[2], e[3] = 0xAA, 0x50, p.Type, p.SubType
		binary.LittleEndian.PutUint32(e[4:], p.Offset)
		binary.LittleEndian.PutUint32(e[8:], p.Size)
		copy(e[12:28], p.Label)
		binary.LittleEndian.PutUint32(e[28:], p.Flags)
		b = append(b, e...)
	}
	sum := md5.Sum(b)
	m := bytes.Repeat([]byte{0xFF}, partEntrySize)
	m[0], m[1] = 0xEB, 0xEB
	copy(m[16:], sum[:])
	b = append(b, m...)
	for len(b) < PartitionTableSize {
		b = append(b, 0xFF)
	}
	return b, nil
}

// AppDescMagic starts the esp_app_desc_t structure at the beginning of an
// ESP-IDF app's first (DROM) segment.
const AppDescMagic = 0xABCD5432

// AppDesc is the part of esp_app_desc_t a console shows.
type AppDesc struct {
	SecureVersion uint32
	Version       string
	ProjectName   string
	Time, Date    string
	IDFVersion    string
}

// AppDescription returns the app description of an ESP-IDF app image, and
// false when the first segment does not start with one.
func (img *Image) AppDescription() (AppDesc, bool) {
	if len(img.Segments) == 0 {
		return AppDesc{}, false
	}
	d := img.Segments[0].Data
	if len(d) < 16+32+32+16+16+32 || binary.LittleEndian.Uint32(d) != AppDescMagic {
		return AppDesc{}, false
	}
	str := func(b []byte) string { return strings.TrimRight(string(bytes.SplitN(b, []byte{0}, 2)[0]), " ") }
	return AppDesc{
		SecureVersion: binary.LittleEndian.Uint32(d[4:]),
		Version:       str(d[16:48]),
		ProjectName:   str(d[48:80]),
		Time:          str(d[80:96]),
		Date:          str(d[96:112]),
		IDFVersion:    str(d[112:144]),
	}, true
}

// MarshalAppDesc lays out an esp_app_desc_t (256 bytes) for the start of
// an app's first segment.
func MarshalAppDesc(d AppDesc) []byte {
	b := make([]byte, 256)
	binary.LittleEndian.PutUint32(b, AppDescMagic)
	binary.LittleEndian.PutUint32(b[4:], d.SecureVersion)
	copy(b[16:47], d.Version)
	copy(b[48:79], d.ProjectName)
	copy(b[80:95], d.Time)
	copy(b[96:111], d.Date)
	copy(b[112:143], d.IDFVersion)
	return b
}
