package mcuimg

import (
	"encoding/binary"
	"fmt"
	"strings"

	"trustforge/internal/usererr"
)

var le = binary.LittleEndian

// Magic is the value of the first header field of every MCUboot image.
const Magic = 0x96f3b83d

// HeaderSize is the size of the fixed image header. An image's header area
// (Header.HeaderSize) is at least this and usually 0x200.
const HeaderSize = 32

// Flags are the header's image flags.
type Flags uint32

// Image flags.
const (
	FlagPIC                Flags = 0x1
	FlagEncryptedAES128    Flags = 0x4
	FlagEncryptedAES256    Flags = 0x8
	FlagNonBootable        Flags = 0x10
	FlagRAMLoad            Flags = 0x20
	FlagROMFixed           Flags = 0x100
	FlagCompressedLZMA1    Flags = 0x200
	FlagCompressedLZMA2    Flags = 0x400
	FlagCompressedARMThumb Flags = 0x800
)

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagPIC, "PIC"},
	{FlagEncryptedAES128, "ENCRYPTED_AES128"},
	{FlagEncryptedAES256, "ENCRYPTED_AES256"},
	{FlagNonBootable, "NON_BOOTABLE"},
	{FlagRAMLoad, "RAM_LOAD"},
	{FlagROMFixed, "ROM_FIXED"},
	{FlagCompressedLZMA1, "COMPRESSED_LZMA1"},
	{FlagCompressedLZMA2, "COMPRESSED_LZMA2"},
	{FlagCompressedARMThumb, "COMPRESSED_ARM_THUMB"},
}

// Encrypted reports whether either encryption flag is set.
func (f Flags) Encrypted() bool { return f&(FlagEncryptedAES128|FlagEncryptedAES256) != 0 }

// Names returns the names of the set flags as imgtool prints them, with
// unknown bits as hex.
func (f Flags) Names() []string {
	var names []string
	rest := f
	for _, n := range flagNames {
		if f&n.f != 0 {
			names = append(names, n.name)
			rest &^= n.f
		}
	}
	if rest != 0 {
		names = append(names, fmt.Sprintf("%#x", uint32(rest)))
	}
	return names
}

// String formats the flags as "0x0" or "ENCRYPTED_AES128|RAM_LOAD".
func (f Flags) String() string {
	if f == 0 {
		return "0x0"
	}
	return strings.Join(f.Names(), "|")
}

// Header is the fixed 32-byte image header.
type Header struct {
	Magic            uint32
	LoadAddr         uint32
	HeaderSize       uint16 // size of the header area, filler included
	ProtectedTLVSize uint16 // size of the protected TLV area, its info included; 0 when absent
	ImageSize        uint32 // payload size
	Flags            Flags
	Version          Version
	Pad              uint32
}

// ParseHeader decodes the fixed header at the start of b and checks its
// magic and header size.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, usererr.Errorf("", "%w: %d bytes, the header alone needs %d", ErrTruncated, len(b), HeaderSize)
	}
	h := Header{
		Magic:            le.Uint32(b[0:]),
		LoadAddr:         le.Uint32(b[4:]),
		HeaderSize:       le.Uint16(b[8:]),
		ProtectedTLVSize: le.Uint16(b[10:]),
		ImageSize:        le.Uint32(b[12:]),
		Flags:            Flags(le.Uint32(b[16:])),
		Version:          unmarshalVersion(b[20:28]),
		Pad:              le.Uint32(b[28:]),
	}
	if h.Magic != Magic {
		return h, usererr.Errorf("", "%w: %#08x (want %#08x); is this an MCUboot image?", ErrBadMagic, h.Magic, uint32(Magic))
	}
	if h.HeaderSize < HeaderSize {
		return h, usererr.Errorf("", "%w: header size %#x is below the minimum %#x", ErrBadHeader, h.HeaderSize, HeaderSize)
	}
	if h.ProtectedTLVSize != 0 && h.ProtectedTLVSize < tlvInfoSize {
		return h, usererr.Errorf("", "%w: protected TLV size %#x is below the %d-byte TLV info", ErrBadHeader, h.ProtectedTLVSize, tlvInfoSize)
	}
	if h.Flags&FlagEncryptedAES128 != 0 && h.Flags&FlagEncryptedAES256 != 0 {
		return h, usererr.Errorf("", "%w: both AES-128 and AES-256 encryption flags are set", ErrBadHeader)
	}
	return h, nil
}

// Marshal encodes the header into its 32 bytes.
func (h Header) Marshal() []byte {
	b := make([]byte, HeaderSize)
	le.PutUint32(b[0:], h.Magic)
	le.PutUint32(b[4:], h.LoadAddr)
	le.PutUint16(b[8:], h.HeaderSize)
	le.PutUint16(b[10:], h.ProtectedTLVSize)
	le.PutUint32(b[12:], h.ImageSize)
	le.PutUint32(b[16:], uint32(h.Flags))
	h.Version.marshal(b[20:28])
	le.PutUint32(b[28:], h.Pad)
	return b
}
