package bundle

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"
	"sort"

	"trustforge/crypto/engine"
	"trustforge/internal/usererr"
)

// Image formats a release's payload may hold.
const (
	// ImageFormatMCUboot is one MCUboot image (the default: a manifest
	// without "image_format" holds one).
	ImageFormatMCUboot = "mcuboot"
	// ImageFormatESPFlashSet is an ESP32 flash set: several binaries
	// (bootloader, partition table, app, data) each written at its flash
	// offset, concatenated in the order Parts lists them.
	ImageFormatESPFlashSet = "esp-flash-set"
)

// MaxParts bounds the parts of a flash set.
const MaxParts = 16

// Part is one binary of a flash set.
type Part struct {
	// Name says what the part is: "bootloader", "partition-table", "app",
	// a data partition's label.
	Name string `json:"name"`
	// Offset is the flash address the part is written at.
	Offset uint32 `json:"offset"`
	// Size and SHA256 identify the part's bytes in the payload.
	Size   int64  `json:"size"`
	SHA256 Digest `json:"sha256"`
	// Encrypt marks a part the board's flash encryption must cover: it is
	// encrypted with the board's XTS-AES key for Offset before it is
	// written (or by the ROM as it writes).
	Encrypt bool `json:"encrypt,omitempty"`
}

type wirePart struct {
	Name    string `cbor:"name"`
	Offset  uint64 `cbor:"offset"`
	Size    uint64 `cbor:"size"`
	SHA256  []byte `cbor:"sha256"`
	Encrypt bool   `cbor:"encrypt,omitempty"`
}

// IsFlashSet reports whether the release is an ESP flash set.
func (m *Manifest) IsFlashSet() bool { return m.ImageFormat == ImageFormatESPFlashSet }

func partsToWire(ps []Part) []wirePart {
	if len(ps) == 0 {
		return nil
	}
	out := make([]wirePart, len(ps))
	for i, p := range ps {
		out[i] = wirePart{Name: p.Name, Offset: uint64(p.Offset), Size: uint64(p.Size), SHA256: append([]byte(nil), p.SHA256[:]...), Encrypt: p.Encrypt}
	}
	return out
}

func partsFromWire(ws []wirePart) ([]Part, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	out := make([]Part, len(ws))
	for i, w := range ws {
		if w.Offset > 1<<32-1 || w.Size > MaxImageSize || len(w.SHA256) != sha256.Size {
			return nil, usererr.Errorf("", "%w: manifest: part %d is out of range", ErrMalformed, i)
		}
		out[i] = Part{Name: w.Name, Offset: uint32(w.Offset), Size: int64(w.Size), Encrypt: w.Encrypt}
		copy(out[i].SHA256[:], w.SHA256)
	}
	return out, nil
}

// validateFormat checks ImageFormat and Parts.
func (m *Manifest) validateFormat() error {
	bad := func(format string, args ...any) error {
		return usererr.Errorf("", "%w: manifest: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	switch m.ImageFormat {
	case "", ImageFormatMCUboot:
		if len(m.Parts) > 0 {
			return bad("an MCUboot release has no parts")
		}
		return nil
	case ImageFormatESPFlashSet:
	default:
		return usererr.Errorf("", "%w: image format %q", ErrUnsupported, m.ImageFormat)
	}
	if len(m.Parts) == 0 || len(m.Parts) > MaxParts {
		return bad("a flash set has 1 to %d parts, this one %d", MaxParts, len(m.Parts))
	}
	if m.Component != 0 {
		return bad("a flash set is component 0")
	}
	var total int64
	sorted := append([]Part(nil), m.Parts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	for i, p := range sorted {
		if !validName(p.Name, MaxNameLen, false) {
			return bad("part name %q: want 1 to %d of A-Z a-z 0-9 . _ -", p.Name, MaxNameLen)
		}
		if p.Size <= 0 || uint64(p.Offset)+uint64(p.Size) > 1<<32 {
			return bad("part %q: %d bytes at %#x", p.Name, p.Size, p.Offset)
		}
		if p.Encrypt && p.Offset%16 != 0 {
			return bad("part %q is encrypted but its offset is not a multiple of 16", p.Name)
		}
		if i > 0 && uint64(sorted[i-1].Offset)+uint64(sorted[i-1].Size) > uint64(p.Offset) {
			return bad("parts %q and %q overlap", sorted[i-1].Name, p.Name)
		}
		total += p.Size
	}
	if total != m.Image.Size {
		return bad("parts add up to %d bytes, the image is %d", total, m.Image.Size)
	}
	return nil
}

// contentCheck follows a payload's plaintext as it streams by.
type contentCheck interface {
	Write(p []byte) (int, error)
	result() (ImageInfo, error)
	check(want ImageInfo) error
}

// newContentCheck returns the check for m's image format. With fill, the
// flash set's zero part digests are filled in m (Seal); without, every
// part must match its digest (Decrypt). With signed, an MCUboot image's
// SHA256 TLV is m.Image's, which its caller computed over these very bytes
// as it signed them: the contents are not hashed again (the TLV and the
// size are still compared with m.Image).
func newContentCheck(m *Manifest, fill, signed bool, eng engine.Engine) contentCheck {
	h := engine.Or(eng)
	if m.IsFlashSet() {
		parts := m.Parts
		if !fill {
			parts = append([]Part(nil), m.Parts...)
		}
		return &flashSetCheck{parts: parts, fill: fill, all: h.NewSHA256(), cur: h.NewSHA256()}
	}
	if signed {
		return &imageCheck{signed: true, failFast: true}
	}
	return &imageCheck{h: h.NewSHA256(), failFast: true}
}

// flashSetCheck follows a flash set: the parts back to back, each checked
// against its size and SHA-256 as it ends (when the digest is known: Seal
// fills in zero digests), the whole hashed for the manifest's image digest.
type flashSetCheck struct {
	parts []Part
	fill  bool
	idx   int
	inCur int64
	n     int64
	all   hash.Hash
	cur   hash.Hash
	err   error
}

func (c *flashSetCheck) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if c.err != nil {
			return 0, c.err
		}
		if c.idx >= len(c.parts) {
			c.err = usererr.Errorf("", "%w: the flash set has bytes past its last part", ErrImageMismatch)
			return 0, c.err
		}
		part := &c.parts[c.idx]
		k := min(int64(len(p)), part.Size-c.inCur)
		c.all.Write(p[:k])
		c.cur.Write(p[:k])
		c.inCur += k
		c.n += k
		p = p[k:]
		if c.inCur == part.Size {
			var sum Digest
			c.cur.Sum(sum[:0])
			switch {
			case c.fill && part.SHA256 == Digest{}:
				part.SHA256 = sum
			case subtle.ConstantTimeCompare(sum[:], part.SHA256[:]) != 1:
				c.err = usererr.Errorf("", "%w: part %q hashes to %s, the manifest says %s", ErrImageMismatch, part.Name, sum, part.SHA256)
			}
			c.cur.Reset()
			c.idx++
			c.inCur = 0
		}
	}
	return n, nil
}

func (c *flashSetCheck) result() (ImageInfo, error) {
	if c.err != nil {
		return ImageInfo{}, c.err
	}
	if c.idx != len(c.parts) {
		return ImageInfo{}, usererr.Errorf("", "%w: the flash set ends inside part %d of %d", ErrImageMismatch, c.idx+1, len(c.parts))
	}
	info := ImageInfo{Size: c.n}
	c.all.Sum(info.SHA256[:0])
	return info, nil
}

func (c *flashSetCheck) check(want ImageInfo) error {
	got, err := c.result()
	if err != nil {
		return err
	}
	if got.Size != want.Size || subtle.ConstantTimeCompare(got.SHA256[:], want.SHA256[:]) != 1 {
		return usererr.Errorf("", "%w: flash set is %d bytes with SHA-256 %s, the manifest says %d bytes, %s", ErrImageMismatch, got.Size, got.SHA256, want.Size, want.SHA256)
	}
	return nil
}
