package espimg

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"

	"trustforge/internal/usererr"
)

// Sizes and constants of the app image format.
const (
	// Magic is the first byte of every app and bootloader image.
	Magic = 0xE9
	// HeaderSize is the size of the common header and its extended part.
	HeaderSize = 24
	// SegmentHeaderSize is the size of a segment's load address and length.
	SegmentHeaderSize = 8
	// MaxSegments is the most segments an image header may announce.
	MaxSegments = 16
	// ChecksumSeed starts the XOR checksum of segment data.
	ChecksumSeed = 0xEF
)

// SPI flash modes of the header's spi_mode byte.
const (
	ModeQIO  = 0
	ModeQOUT = 1
	ModeDIO  = 2
	ModeDOUT = 3
)

// Header is an image's 24-byte header.
type Header struct {
	Segments   int    // number of segments
	SPIMode    byte   // ModeQIO ... ModeDOUT
	FlashFreq  byte   // low nibble of byte 3, chip-specific code
	FlashSize  byte   // high nibble of byte 3: 0 = 1 MB, 1 = 2 MB, 2 = 4 MB ...
	Entry      uint32 // entry point address
	WPPin      byte   // 0xEE when unused
	PinDrive   [3]byte
	Chip       Chip
	MinRevOld  byte     // the deprecated one-byte minimum revision (major only)
	MinRev     Revision // minimum chip revision, major*100+minor
	MaxRev     Revision // maximum chip revision, major*100+minor (0: any)
	HashAppend bool     // a SHA-256 of the image follows the checksum
}

// FlashBytes returns the flash size the header announces, in bytes.
func (h Header) FlashBytes() int { return 1 << (20 + int(h.FlashSize)) }

// Segment is one loadable part of an image.
type Segment struct {
	Addr   uint32 // load address
	Offset int    // offset of Data in the image
	Data   []byte // aliases the parsed image
}

// Image is a parsed, checked image.
type Image struct {
	Header   Header
	Segments []Segment
	Checksum byte
	// Hash is the appended SHA-256 when Header.HashAppend is set.
	Hash []byte
	// Len is the length of the image proper: header, segments, padding,
	// checksum and appended hash.
	Len int
	// SignedLen is the length of the image as Secure Boot v2 signs it (Len
	// padded to 4 KiB), and Signature the signature sector that follows it,
	// when one does (nil otherwise).
	SignedLen int
	Signature []byte
}

// ParseHeader decodes the 24-byte header at the start of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) == 0 || b[0] != Magic {
		return Header{}, usererr.Errorf("", "%w: first byte is not %#02x", ErrNotImage, Magic)
	}
	if len(b) < HeaderSize {
		return Header{}, usererr.Errorf("", "%w: %d bytes, a header needs %d", ErrTruncated, len(b), HeaderSize)
	}
	h := Header{
		Segments:  int(b[1]),
		SPIMode:   b[2],
		FlashFreq: b[3] & 0x0F,
		FlashSize: b[3] >> 4,
		Entry:     binary.LittleEndian.Uint32(b[4:]),
		WPPin:     b[8],
		Chip:      Chip(binary.LittleEndian.Uint16(b[12:])),
		MinRevOld: b[14],
		MinRev:    Revision(binary.LittleEndian.Uint16(b[15:])),
		MaxRev:    Revision(binary.LittleEndian.Uint16(b[17:])),
	}
	copy(h.PinDrive[:], b[9:12])
	switch b[23] {
	case 0:
	case 1:
		h.HashAppend = true
	default:
		return Header{}, usererr.Errorf("", "%w: hash_appended is %#02x, not 0 or 1", ErrMalformed, b[23])
	}
	if h.Segments == 0 || h.Segments > MaxSegments {
		return Header{}, usererr.Errorf("", "%w: %d segments (1 to %d allowed)", ErrMalformed, h.Segments, MaxSegments)
	}
	if h.SPIMode > ModeDOUT {
		return Header{}, usererr.Errorf("", "%w: SPI mode %d", ErrMalformed, h.SPIMode)
	}
	return h, nil
}

func (h Header) marshal() []byte {
	b := make([]byte, HeaderSize)
	b[0] = Magic
	b[1] = byte(h.Segments)
	b[2] = h.SPIMode
	b[3] = h.FlashSize<<4 | h.FlashFreq&0x0F
	binary.LittleEndian.PutUint32(b[4:], h.Entry)
	b[8] = h.WPPin
	copy(b[9:12], h.PinDrive[:])
	binary.LittleEndian.PutUint16(b[12:], uint16(h.Chip))
	b[14] = h.MinRevOld
	binary.LittleEndian.PutUint16(b[15:], uint16(h.MinRev))
	binary.LittleEndian.PutUint16(b[17:], uint16(h.MaxRev))
	if h.HashAppend {
		b[23] = 1
	}
	return b
}

// Parse checks an image: header, segments, checksum and appended SHA-256.
// Bytes after the image are allowed (erased flash, a partition's unused
// rest); when they hold a Secure Boot v2 signature sector right after the
// image padded to 4 KiB, Parse reports it in Signature without checking the
// signatures (Verify does).
func Parse(b []byte) (*Image, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	img := &Image{Header: h}
	off := HeaderSize
	sum := byte(ChecksumSeed)
	for i := 0; i < h.Segments; i++ {
		if len(b)-off < SegmentHeaderSize {
			return nil, usererr.Errorf("", "%w: segment %d header at offset %#x", ErrTruncated, i, off)
		}
		addr := binary.LittleEndian.Uint32(b[off:])
		n := binary.LittleEndian.Uint32(b[off+4:])
		off += SegmentHeaderSize
		if uint64(n) > uint64(len(b)-off) {
			return nil, usererr.Errorf("", "%w: segment %d (%d bytes at %#08x) runs past the end of the image at offset %#x", ErrTruncated, i, n, addr, off)
		}
		data := b[off : off+int(n)]
		for _, c := range data {
			sum ^= c
		}
		img.Segments = append(img.Segments, Segment{Addr: addr, Offset: off, Data: data})
		off += int(n)
	}
	// Zero padding up to the checksum, the last byte of a 16-byte row.
	csOff := off | 15
	if csOff >= len(b) {
		return nil, usererr.Errorf("", "%w: no checksum byte at offset %#x", ErrTruncated, csOff)
	}
	img.Checksum = b[csOff]
	if img.Checksum != sum {
		return nil, usererr.Errorf("", "%w: checksum byte is %#02x, segments give %#02x", ErrChecksum, img.Checksum, sum)
	}
	img.Len = csOff + 1
	if h.HashAppend {
		if len(b)-img.Len < sha256.Size {
			return nil, usererr.Errorf("", "%w: the appended SHA-256 is missing", ErrTruncated)
		}
		img.Hash = b[img.Len : img.Len+sha256.Size]
		got := sha256.Sum256(b[:img.Len])
		if !bytes.Equal(got[:], img.Hash) {
			return nil, usererr.Errorf("", "%w: appended SHA-256 %x, image hashes to %x", ErrChecksum, img.Hash, got)
		}
		img.Len += sha256.Size
	}
	img.SignedLen = alignUp(img.Len, SectorSize)
	if len(b) >= img.SignedLen+SectorSize && b[img.SignedLen] == SigBlockMagic {
		img.Signature = b[img.SignedLen : img.SignedLen+SectorSize]
	}
	return img, nil
}

// CheckChip reports, with ErrWrongChip, whether the image cannot run on a
// chip of this id and revision (major*100+minor).
func (h Header) CheckChip(c Chip, rev Revision) error {
	if h.Chip != c {
		return usererr.Errorf("", "%w: the image is built for %v, the board is an %v", ErrWrongChip, h.Chip, c)
	}
	if rev < h.MinRev {
		return usererr.Errorf("", "%w: the image needs %v revision %v or later, the board is %v", ErrWrongChip, c, h.MinRev, rev)
	}
	if h.MaxRev != 0 && h.MaxRev != 0xFFFF && rev > h.MaxRev {
		return usererr.Errorf("", "%w: the image runs on %v up to revision %v, the board is %v", ErrWrongChip, c, h.MaxRev, rev)
	}
	return nil
}

// BuildOptions describes an image for Build. The zero value builds an
// ESP32 (chip id 0) image in DIO mode for 4 MB of flash.
type BuildOptions struct {
	Chip      Chip
	MinRev    Revision // 0: any revision
	MaxRev    Revision // 0: any revision
	Entry     uint32
	SPIMode   byte // the header's spi_mode; zero is ModeQIO
	FlashSize byte // header code; zero is 1 MB
	FlashFreq byte
	NoHash    bool // leave out the appended SHA-256 (bootloaders of some chips)
}

// Build assembles an image from segments: header, segments (each padded to
// 4 bytes with zeros), zero padding, the XOR checksum and the SHA-256.
func Build(opts BuildOptions, segs ...Segment) ([]byte, error) {
	if len(segs) == 0 || len(segs) > MaxSegments {
		return nil, usererr.Errorf("espimg", "build: %d segments (1 to %d allowed)", len(segs), MaxSegments)
	}
	h := Header{
		Segments: len(segs), SPIMode: opts.SPIMode, FlashFreq: opts.FlashFreq, FlashSize: opts.FlashSize,
		Entry: opts.Entry, WPPin: 0xEE, Chip: opts.Chip, MinRevOld: byte(opts.MinRev / 100),
		MinRev: opts.MinRev, MaxRev: opts.MaxRev, HashAppend: !opts.NoHash,
	}
	if opts.MaxRev == 0 {
		h.MaxRev = 0xFFFF
	}
	var buf bytes.Buffer
	buf.Write(h.marshal())
	sum := byte(ChecksumSeed)
	for _, s := range segs {
		data := s.Data
		if pad := len(data) % 4; pad != 0 {
			data = append(append([]byte(nil), data...), make([]byte, 4-pad)...)
		}
		var sh [SegmentHeaderSize]byte
		binary.LittleEndian.PutUint32(sh[:], s.Addr)
		binary.LittleEndian.PutUint32(sh[4:], uint32(len(data)))
		buf.Write(sh[:])
		buf.Write(data)
		for _, c := range data {
			sum ^= c
		}
	}
	for buf.Len()%16 != 15 {
		buf.WriteByte(0)
	}
	buf.WriteByte(sum)
	if h.HashAppend {
		d := sha256.Sum256(buf.Bytes())
		buf.Write(d[:])
	}
	return buf.Bytes(), nil
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// MustBuildForTest builds a one-segment app for chip needing minimum
// revision minRev. It panics on error; tests use it.
func MustBuildForTest(chip Chip, minRev Revision) []byte {
	b, err := Build(BuildOptions{Chip: chip, MinRev: minRev}, Segment{Addr: 0x42000020, Data: make([]byte, 64)})
	if err != nil {
		panic(err)
	}
	return b
}
