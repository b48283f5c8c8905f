package bundle

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"hash"

	"trustforge/crypto/mcuimg"
	"trustforge/internal/usererr"
)

// MCUboot layout facts the streaming check needs beyond crypto/mcuimg's
// header parser (all little-endian).
const (
	imageHeaderSize = mcuimg.HeaderSize
	imageMagic      = mcuimg.Magic
	tlvInfoMagic    = mcuimg.UnprotectedInfoMagic
	tlvInfoSize     = 4
	tlvTypeSHA256   = uint16(mcuimg.TLVSHA256)
)

// imageCheck follows an MCUboot image as it streams by, without holding it:
// it reads the header, hashes the region MCUboot hashes (header, payload and
// protected TLVs), keeps the unprotected TLV area, and at the end finds the
// SHA256 TLV. For an image whose payload is encrypted to the device, the
// hash covers the plaintext MCUboot sees after decrypting, so only the TLV is
// compared (and nothing is hashed past the header). Neither is an image
// whose SHA256 TLV the caller vouches for (signed: see newContentCheck).
type imageCheck struct {
	hdr       [imageHeaderSize]byte
	n         int64     // bytes seen
	h         hash.Hash // nil once the contents need no hash
	signed    bool      // the caller made the TLV from these bytes
	hashedLen int64     // hdr_size + img_size + protect_tlv_size, once the header is in
	encrypted bool
	tlvs      []byte // the unprotected TLV area, as far as it has arrived
	tlvLen    int    // its length from the TLV info, once known
	err       error
	failFast  bool // Write returns err once the image is known to be bad
}

func newImageCheck() *imageCheck { return &imageCheck{h: sha256.New()} }

// Write follows p. It fails only with failFast set and an image already
// known to be bad; otherwise a bad image is reported by result.
func (c *imageCheck) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && c.err == nil {
		switch {
		case c.n < imageHeaderSize:
			k := copy(c.hdr[c.n:], p)
			if c.h != nil {
				c.h.Write(p[:k])
			}
			c.n += int64(k)
			p = p[k:]
			if c.n == imageHeaderSize {
				c.parseHeader()
			}
		case c.n < c.hashedLen:
			k := min(int64(len(p)), c.hashedLen-c.n)
			if c.h != nil {
				c.h.Write(p[:k])
			}
			c.n += k
			p = p[k:]
		default:
			// The unprotected TLV area: keep its info, then tlvLen bytes;
			// anything after it (slot padding, a trailer) is only counted.
			want := tlvInfoSize
			if c.tlvLen > 0 {
				want = c.tlvLen
			}
			if k := min(len(p), want-len(c.tlvs)); k > 0 {
				c.tlvs = append(c.tlvs, p[:k]...)
				c.n += int64(k)
				p = p[k:]
				if c.tlvLen == 0 && len(c.tlvs) == tlvInfoSize {
					c.parseTLVInfo()
				}
			} else {
				c.n += int64(len(p))
				p = nil
			}
		}
	}
	if c.err != nil {
		if c.failFast {
			return 0, c.err
		}
		c.n += int64(len(p))
	}
	return n, nil
}

func (c *imageCheck) parseHeader() {
	h, err := mcuimg.ParseHeader(c.hdr[:])
	if err != nil {
		c.err = usererr.Errorf("", "%w: %w", ErrNotImage, err)
		return
	}
	c.hashedLen = int64(h.HeaderSize) + int64(h.ImageSize) + int64(h.ProtectedTLVSize)
	c.encrypted = h.Flags.Encrypted()
	if c.encrypted {
		c.h = nil // its hash is never compared
	}
}

func (c *imageCheck) parseTLVInfo() {
	le := binary.LittleEndian
	magic, total := le.Uint16(c.tlvs[0:]), int(le.Uint16(c.tlvs[2:]))
	if magic != tlvInfoMagic {
		c.err = usererr.Errorf("", "%w: bad TLV info magic %#04x", ErrNotImage, magic)
		return
	}
	if total < tlvInfoSize {
		c.err = usererr.Errorf("", "%w: TLV area of %d bytes", ErrNotImage, total)
		return
	}
	c.tlvLen = total
}

// result returns the image's size and SHA256 TLV, checked against the hash
// of what streamed by unless the image is encrypted.
func (c *imageCheck) result() (ImageInfo, error) {
	if c.err != nil {
		return ImageInfo{}, c.err
	}
	if c.n < imageHeaderSize || c.tlvLen == 0 || len(c.tlvs) < c.tlvLen {
		return ImageInfo{}, usererr.Errorf("", "%w: image ends after %d bytes, before its TLVs", ErrNotImage, c.n)
	}
	var tlv []byte
	for area := c.tlvs[tlvInfoSize:]; len(area) > 0; {
		if len(area) < 4 {
			return ImageInfo{}, usererr.Errorf("", "%w: TLV area ends inside a TLV header", ErrNotImage)
		}
		typ, l := binary.LittleEndian.Uint16(area), int(binary.LittleEndian.Uint16(area[2:]))
		if len(area) < 4+l {
			return ImageInfo{}, usererr.Errorf("", "%w: TLV %#x of %d bytes runs past the TLV area", ErrNotImage, typ, l)
		}
		if typ == tlvTypeSHA256 {
			if tlv != nil || l != sha256.Size {
				return ImageInfo{}, usererr.Errorf("", "%w: SHA256 TLV repeated or not %d bytes", ErrNotImage, sha256.Size)
			}
			tlv = area[4 : 4+l]
		}
		area = area[4+l:]
	}
	if tlv == nil {
		return ImageInfo{}, usererr.Errorf("", "%w: no SHA256 TLV", ErrNotImage)
	}
	info := ImageInfo{Size: c.n}
	copy(info.SHA256[:], tlv)
	if !c.encrypted && !c.signed {
		var sum Digest
		c.h.Sum(sum[:0])
		if subtle.ConstantTimeCompare(sum[:], tlv) != 1 {
			return ImageInfo{}, usererr.Errorf("", "%w: image hashes to %s but its SHA256 TLV says %s", ErrNotImage, sum, info.SHA256)
		}
	}
	return info, nil
}

// check compares the streamed image with the manifest's.
func (c *imageCheck) check(want ImageInfo) error {
	got, err := c.result()
	if err != nil {
		return err
	}
	if got.Size != want.Size {
		return usererr.Errorf("", "%w: image is %d bytes, the manifest says %d", ErrImageMismatch, got.Size, want.Size)
	}
	if subtle.ConstantTimeCompare(got.SHA256[:], want.SHA256[:]) != 1 {
		return usererr.Errorf("", "%w: image SHA256 TLV %s, the manifest says %s", ErrImageMismatch, got.SHA256, want.SHA256)
	}
	return nil
}
