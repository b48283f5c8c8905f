package mcuimg

import "trustforge/internal/usererr"

// Image is a parsed MCUboot image. Its byte slices (Payload, TLV values)
// refer to the bytes it was parsed from; do not modify those while the Image
// is in use.
type Image struct {
	Header      Header
	Protected   *TLVArea // nil when the image has no protected TLVs
	Unprotected TLVArea
	// Trailer is the slot trailer after the image, when the parsed bytes are
	// a whole slot that ends with a trailer magic.
	Trailer *Trailer
	// PadSize is the number of bytes between the end of the TLV area and the
	// end of the parsed bytes: erased filler and the trailer.
	PadSize int

	data []byte // the image proper: header through unprotected TLV area
}

// Parse decodes an image file: the image alone, or a whole slot as `imgtool
// sign --pad` writes it (erased filler and a trailer). Anything else after
// the TLV area is ErrTrailingData. Parse checks structure only; Verify checks
// hash and signature.
func Parse(data []byte) (*Image, error) {
	img, err := ParsePrefix(data)
	if err != nil {
		return nil, err
	}
	if err := img.checkPadding(data); err != nil {
		return nil, err
	}
	return img, nil
}

// ParsePrefix decodes the image at the start of data and ignores the bytes
// after its TLV area, as a bootloader reads a slot. It reads a trailer at
// the end of data when there is one.
func ParsePrefix(data []byte) (*Image, error) {
	h, err := ParseHeader(data)
	if err != nil {
		return nil, err
	}
	img := &Image{Header: h}
	payloadEnd := uint64(h.HeaderSize) + uint64(h.ImageSize)
	if payloadEnd > uint64(len(data)) {
		return nil, usererr.Errorf("", "%w: payload ends at %#x (header %#x + image %#x), file is %#x bytes", ErrTruncated, payloadEnd, h.HeaderSize, h.ImageSize, len(data))
	}
	off := int(payloadEnd)
	if h.ProtectedTLVSize != 0 {
		a, err := parseTLVArea(data, off, ProtectedInfoMagic, "protected")
		if err != nil {
			return nil, err
		}
		if a.Total != h.ProtectedTLVSize {
			return nil, usererr.Errorf("", "%w: protected TLV area is %#x bytes, header says %#x", ErrBadTLV, a.Total, h.ProtectedTLVSize)
		}
		img.Protected = &a
		off += int(a.Total)
	} else if off+2 <= len(data) && le.Uint16(data[off:]) == ProtectedInfoMagic {
		return nil, usererr.Errorf("", "%w: protected TLV area at %#x, but the header's protected TLV size is 0", ErrBadTLV, off)
	}
	img.Unprotected, err = parseTLVArea(data, off, UnprotectedInfoMagic, "unprotected")
	if err != nil {
		return nil, err
	}
	end := off + int(img.Unprotected.Total)
	img.data = data[:end:end]
	img.PadSize = len(data) - end
	if img.PadSize > 0 {
		if t, ok := ParseTrailer(data); ok && len(data)-trailerFieldsSize(t.MaxAlign) >= end {
			img.Trailer = &t
		}
	}
	return img, nil
}

// checkPadding accepts erased (0xff) filler, or filler of 0xff or 0x00 (as
// imgtool --erased-val writes) followed by a trailer.
func (img *Image) checkPadding(data []byte) error {
	end := len(img.data)
	if img.PadSize == 0 {
		return nil
	}
	fillEnd := len(data)
	if img.Trailer != nil {
		fillEnd = trailerLayout(len(data), img.Trailer.MaxAlign).start
	}
	fill := data[end]
	if fill != erased && !(fill == 0 && img.Trailer != nil) {
		return usererr.Errorf("", "%w: %#x bytes after the TLV area at %#x are not erased flash (%#02x)", ErrTrailingData, len(data)-end, end, fill)
	}
	for i := end; i < fillEnd; i++ {
		if data[i] != fill {
			return usererr.Errorf("", "%w: byte %#02x at %#x in the %#x bytes after the TLV area at %#x", ErrTrailingData, data[i], i, len(data)-end, end)
		}
	}
	if img.Trailer != nil {
		// Between the fields, only erased bytes; the fields themselves may hold anything.
		l := trailerLayout(len(data), img.Trailer.MaxAlign)
		fields := map[int]int{l.swapSize: 4, l.swapInfo: 1, l.copyDone: 1, l.imageOK: 1, l.magic: trailerMagicSize}
		for i := l.start; i < len(data); {
			if n, ok := fields[i]; ok {
				i += n
				continue
			}
			if data[i] != fill {
				return usererr.Errorf("", "%w: byte %#02x at %#x inside the slot trailer", ErrTrailingData, data[i], i)
			}
			i++
		}
	}
	return nil
}

// Bytes returns the image proper: header, payload and TLV areas, without any
// slot padding or trailer.
func (img *Image) Bytes() []byte { return img.data }

// Size returns the size of the image proper, the length of Bytes.
func (img *Image) Size() int { return len(img.data) }

// Payload returns the payload, encrypted when the image is.
func (img *Image) Payload() []byte {
	start := int(img.Header.HeaderSize)
	return img.data[start : start+int(img.Header.ImageSize)]
}

// HashedRegion returns the bytes the image hash and signature cover: header
// area, payload and protected TLV area. For an encrypted image the hash
// covers the plaintext of this region, not these bytes.
func (img *Image) HashedRegion() []byte {
	return img.data[:img.hashedLen()]
}

func (img *Image) hashedLen() int {
	return int(img.Header.HeaderSize) + int(img.Header.ImageSize) + int(img.Header.ProtectedTLVSize)
}

// Version returns the image version from the header.
func (img *Image) Version() Version { return img.Header.Version }

// Flags returns the header flags.
func (img *Image) Flags() Flags { return img.Header.Flags }

// Encrypted reports whether the header marks the payload as encrypted. An
// image made with imgtool --clear is marked so but carries a plaintext
// payload; Verify tells the two apart.
func (img *Image) Encrypted() bool { return img.Header.Flags.Encrypted() }

// TLVs returns the protected TLVs followed by the unprotected ones.
func (img *Image) TLVs() []TLV {
	var all []TLV
	if img.Protected != nil {
		all = append(all, img.Protected.TLVs...)
	}
	return append(all, img.Unprotected.TLVs...)
}

// ProtectedTLV returns the first protected TLV of type t.
func (img *Image) ProtectedTLV(t TLVType) (TLV, bool) {
	if img.Protected == nil {
		return TLV{}, false
	}
	return img.Protected.Find(t)
}

// Hash returns the type and value of the image hash TLV (SHA256, SHA384 or
// SHA512): the value SMP's image state reports as the image "hash". It
// reports false when the image has none.
func (img *Image) Hash() (TLVType, []byte, bool) {
	for _, t := range img.Unprotected.TLVs {
		if t.Type.IsHash() {
			return t.Type, t.Value, true
		}
	}
	return 0, nil, false
}

// SecurityCounter returns the protected SEC_CNT TLV's value. It reports
// false when the image has none (an unprotected one is ignored, as MCUboot
// ignores it).
func (img *Image) SecurityCounter() (uint32, bool, error) {
	t, ok := img.ProtectedTLV(TLVSecCnt)
	if !ok {
		return 0, false, nil
	}
	if len(t.Value) != 4 {
		return 0, false, usererr.Errorf("", "%w: SEC_CNT TLV at %#x has %d bytes (want 4)", ErrBadTLV, t.Offset, len(t.Value))
	}
	return le.Uint32(t.Value), true, nil
}

// Dependencies returns the image's protected DEPENDENCY TLVs.
func (img *Image) Dependencies() ([]Dependency, error) {
	if img.Protected == nil {
		return nil, nil
	}
	var deps []Dependency
	for _, t := range img.Protected.TLVs {
		if t.Type != TLVDependency {
			continue
		}
		d, err := unmarshalDependency(t.Value)
		if err != nil {
			return nil, usererr.Errorf("", "%w: DEPENDENCY TLV at %#x: %v", ErrBadTLV, t.Offset, err)
		}
		deps = append(deps, d)
	}
	return deps, nil
}
