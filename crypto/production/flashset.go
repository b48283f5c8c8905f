package production

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"sort"

	"trustforge/crypto/bundle"
	"trustforge/internal/usererr"
)

// IsFlashSet reports whether the package programs an ESP32 flash set
// (bundle.ImageFormatESPFlashSet) rather than an MCUboot image.
func (r Release) IsFlashSet() bool { return r.ImageFormat == bundle.ImageFormatESPFlashSet }

type wirePart struct {
	Name    string `cbor:"name"`
	Offset  uint64 `cbor:"offset"`
	Size    uint64 `cbor:"size"`
	SHA256  []byte `cbor:"sha256"`
	Encrypt bool   `cbor:"encrypt,omitempty"`
}

func partsToWire(ps []bundle.Part) []wirePart {
	if len(ps) == 0 {
		return nil
	}
	out := make([]wirePart, len(ps))
	for i, p := range ps {
		out[i] = wirePart{Name: p.Name, Offset: uint64(p.Offset), Size: uint64(p.Size), SHA256: append([]byte(nil), p.SHA256[:]...), Encrypt: p.Encrypt}
	}
	return out
}

func partsFromWire(ws []wirePart) ([]bundle.Part, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	out := make([]bundle.Part, len(ws))
	for i, w := range ws {
		if w.Offset > 1<<32-1 || w.Size > MaxImageSize || len(w.SHA256) != sha256.Size {
			return nil, usererr.Errorf("", "%w: manifest: part %d is out of range", ErrMalformed, i)
		}
		out[i] = bundle.Part{Name: w.Name, Offset: uint32(w.Offset), Size: int64(w.Size), Encrypt: w.Encrypt}
		copy(out[i].SHA256[:], w.SHA256)
	}
	return out, nil
}

// validateFormat checks the release's image format and parts: an MCUboot
// image has none; a flash set has 1 to bundle.MaxParts parts that do not
// overlap and add up to the image, is component 0 and is programmed as
// it is (ImageClear: the chip's own flash encryption covers it).
func (m *Manifest) validateFormat() error {
	bad := func(format string, args ...any) error {
		return usererr.Errorf("", "%w: manifest: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	r := m.Release
	switch r.ImageFormat {
	case "":
		if len(r.Parts) > 0 {
			return bad("an MCUboot image has no parts")
		}
		return nil
	case bundle.ImageFormatESPFlashSet:
	default:
		return usererr.Errorf("", "%w: image format %q", ErrUnsupported, r.ImageFormat)
	}
	switch {
	case len(r.Parts) == 0 || len(r.Parts) > bundle.MaxParts:
		return bad("a flash set has 1 to %d parts, this one %d", bundle.MaxParts, len(r.Parts))
	case r.Component != 0:
		return bad("a flash set is component 0")
	case m.ImageMode != ImageClear:
		return bad("a flash set is programmed as it is (image mode %q)", ImageClear)
	}
	sorted := append([]bundle.Part(nil), r.Parts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	var total int64
	for i, p := range sorted {
		if p.Name == "" || len(p.Name) > bundle.MaxNameLen {
			return bad("part name %q", p.Name)
		}
		if p.Size <= 0 || uint64(p.Offset)+uint64(p.Size) > 1<<32 {
			return bad("part %q: %d bytes at %#x", p.Name, p.Size, p.Offset)
		}
		if i > 0 && uint64(sorted[i-1].Offset)+uint64(sorted[i-1].Size) > uint64(p.Offset) {
			return bad("parts %q and %q overlap", sorted[i-1].Name, p.Name)
		}
		total += p.Size
	}
	if total != r.Image.Size {
		return bad("parts add up to %d bytes, the image is %d", total, r.Image.Size)
	}
	return nil
}

// flashSetInfo is the image info of a flash set: its size and the
// SHA-256 of the parts back to back, as a release manifest has it.
func flashSetInfo(image []byte) bundle.ImageInfo {
	return bundle.ImageInfo{Size: int64(len(image)), SHA256: sha256.Sum256(image)}
}

// checkFlashSet verifies a flash set against the manifest: the whole
// image's SHA-256 and each part's.
func checkFlashSet(image []byte, r Release) error {
	if got := sha256.Sum256(image); subtle.ConstantTimeCompare(got[:], r.Image.SHA256[:]) != 1 {
		return usererr.Errorf("", "%w: the flash set's SHA-256 is not the manifest's", ErrModified)
	}
	data := image
	for _, p := range r.Parts {
		if int64(len(data)) < p.Size {
			return usererr.Errorf("", "%w: the flash set ends inside part %q", ErrModified, p.Name)
		}
		if got := sha256.Sum256(data[:p.Size]); subtle.ConstantTimeCompare(got[:], p.SHA256[:]) != 1 {
			return usererr.Errorf("", "%w: part %q's SHA-256 is not the manifest's", ErrModified, p.Name)
		}
		data = data[p.Size:]
	}
	return nil
}
