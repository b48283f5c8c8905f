package mcuimg

import (
	"bytes"

	"trustforge/internal/usererr"
)

// The trailer magic of slots whose maximum write alignment is the default
// 8 bytes, and the tail of the magic used with other alignments (which
// start with the alignment as a little-endian u16).
var (
	trailerMagic     = [16]byte{0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80}
	trailerMagicTail = [14]byte{0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a}
)

const (
	trailerMagicSize  = 16
	defaultMaxAlign   = 8
	defaultMaxSectors = 128
	flagSet           = 0x01
	erased            = 0xff
)

// TrailerMagic returns the 16-byte trailer magic for a slot with the given
// maximum write alignment (8 when 0).
func TrailerMagic(maxAlign int) [16]byte {
	if maxAlign == 0 || maxAlign == defaultMaxAlign {
		return trailerMagic
	}
	var m [16]byte
	le.PutUint16(m[:], uint16(maxAlign))
	copy(m[2:], trailerMagicTail[:])
	return m
}

// Trailer is the swap state MCUboot keeps at the end of a slot.
type Trailer struct {
	Magic    [16]byte
	MaxAlign int    // alignment of the trailer fields, from the magic
	ImageOK  uint8  // 0x01 when set (a confirmed or permanent image), 0xff erased
	CopyDone uint8  // 0x01 when set
	SwapInfo uint8  // swap type and image number; 0xff erased
	SwapSize uint32 // 0xffffffff erased
}

// ImageOKSet reports whether image_ok is set.
func (t Trailer) ImageOKSet() bool { return t.ImageOK == flagSet }

// CopyDoneSet reports whether copy_done is set.
func (t Trailer) CopyDoneSet() bool { return t.CopyDone == flagSet }

// ParseTrailer reads the trailer at the end of a slot. It reports false when
// the slot does not end with a trailer magic.
func ParseTrailer(slot []byte) (Trailer, bool) {
	var t Trailer
	if len(slot) < trailerMagicSize {
		return t, false
	}
	copy(t.Magic[:], slot[len(slot)-trailerMagicSize:])
	switch {
	case t.Magic == trailerMagic:
		t.MaxAlign = defaultMaxAlign
	case bytes.Equal(t.Magic[2:], trailerMagicTail[:]):
		t.MaxAlign = int(le.Uint16(t.Magic[:2]))
		if t.MaxAlign == 0 || t.MaxAlign&(t.MaxAlign-1) != 0 || t.MaxAlign > 1024 {
			return t, false
		}
	default:
		return t, false
	}
	if len(slot) < trailerFieldsSize(t.MaxAlign) {
		return t, false
	}
	l := trailerLayout(len(slot), t.MaxAlign)
	t.ImageOK = slot[l.imageOK]
	t.CopyDone = slot[l.copyDone]
	t.SwapInfo = slot[l.swapInfo]
	t.SwapSize = le.Uint32(slot[l.swapSize:])
	return t, true
}

// trailerOffsets are the offsets of the trailer fields in a slot.
type trailerOffsets struct {
	start                                        int // first byte of the fields
	swapSize, swapInfo, copyDone, imageOK, magic int
}

func trailerFieldsSize(maxAlign int) int { return alignUp(trailerMagicSize, maxAlign) + 4*maxAlign }

func trailerLayout(slotSize, maxAlign int) trailerOffsets {
	magicArea := alignUp(trailerMagicSize, maxAlign)
	end := slotSize
	return trailerOffsets{
		start:    end - magicArea - 4*maxAlign,
		swapSize: end - magicArea - 4*maxAlign,
		swapInfo: end - magicArea - 3*maxAlign,
		copyDone: end - magicArea - 2*maxAlign,
		imageOK:  end - magicArea - maxAlign,
		magic:    end - trailerMagicSize,
	}
}

// TrailerLayout describes the flash a slot's trailer takes.
type TrailerLayout struct {
	// Align is the flash write alignment: 1, 2, 4, 8, 16 or 32. Zero means 8.
	Align int
	// MaxAlign is the largest write alignment of the device's slots. Zero
	// means max(8, Align).
	MaxAlign int
	// MaxSectors is the largest number of sectors a slot has. Zero means 128.
	MaxSectors int
	// OverwriteOnly selects the small trailer of overwrite-only upgrades.
	OverwriteOnly bool
	// Encrypted reserves room for the two image keys an encrypted swap keeps.
	Encrypted bool
}

func (l TrailerLayout) normalized() (TrailerLayout, error) {
	if l.Align == 0 {
		l.Align = defaultMaxAlign
	}
	switch l.Align {
	case 1, 2, 4, 8, 16, 32:
	default:
		return l, usererr.Errorf("", "%w: alignment %d (want 1, 2, 4, 8, 16 or 32)", ErrInvalidOption, l.Align)
	}
	if l.MaxAlign == 0 {
		l.MaxAlign = max(defaultMaxAlign, l.Align)
	}
	if l.MaxAlign&(l.MaxAlign-1) != 0 || l.MaxAlign < l.Align || l.MaxAlign > 1024 {
		return l, usererr.Errorf("", "%w: max alignment %d (want a power of two, at least the alignment %d)", ErrInvalidOption, l.MaxAlign, l.Align)
	}
	if l.MaxSectors == 0 {
		l.MaxSectors = defaultMaxSectors
	}
	if l.MaxSectors < 0 || l.MaxSectors > 1<<16 {
		return l, usererr.Errorf("", "%w: max sectors %d", ErrInvalidOption, l.MaxSectors)
	}
	return l, nil
}

// Size returns the number of bytes the trailer takes at the end of a slot,
// computed as imgtool computes it to decide whether an image fits.
func (l TrailerLayout) Size() (int, error) {
	l, err := l.normalized()
	if err != nil {
		return 0, err
	}
	magicArea := alignUp(trailerMagicSize, l.MaxAlign)
	if l.OverwriteOnly {
		return 2*l.MaxAlign + magicArea, nil
	}
	n := l.MaxSectors * 3 * l.Align // swap status
	if l.Encrypted {
		n += 2 * alignUp(16, l.MaxAlign) // the two image keys
	}
	n += 4 * l.MaxAlign // swap_size, swap_info, copy_done, image_ok
	n += magicArea
	return n, nil
}

// Encode returns the trailer of a freshly written slot, Size bytes: erased
// (erasedValue) except the magic and, when confirm, image_ok (which
// overwrite-only trailers do not use).
func (l TrailerLayout) Encode(confirm bool, erasedValue byte) ([]byte, error) {
	size, err := l.Size()
	if err != nil {
		return nil, err
	}
	l, _ = l.normalized()
	return appendTrailer(make([]byte, 0, size), size, l.MaxAlign, confirm && !l.OverwriteOnly, erasedValue), nil
}

// appendTrailer appends a trailer of the given size whose fields are erased
// except the magic and, when confirm, image_ok.
func appendTrailer(b []byte, size int, maxAlign int, confirm bool, fill byte) []byte {
	start := len(b)
	for range size {
		b = append(b, fill)
	}
	magic := TrailerMagic(maxAlign)
	copy(b[len(b)-trailerMagicSize:], magic[:])
	if confirm {
		b[start+size-alignUp(trailerMagicSize, maxAlign)-maxAlign] = flagSet
	}
	return b
}

func alignUp(n, align int) int { return (n + align - 1) &^ (align - 1) }
