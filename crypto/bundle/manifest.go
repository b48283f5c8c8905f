package bundle

import (
	"bytes"
	"fmt"
	"time"
	"unicode/utf8"

	"trustforge/internal/usererr"

	"trustforge/internal/cbor"
)

// ManifestFormat is the manifest format version this package writes and
// reads. A manifest of any other format is refused with ErrUnsupported.
const ManifestFormat = 1

// Limits on a manifest's fields, so a reader's memory stays bounded.
const (
	MaxNameLen       = 64            // bytes in Product and Channel
	MaxHardwareLen   = 128           // bytes in one Hardware entry
	MaxHardware      = 64            // entries in Hardware
	MaxRecipients    = 64            // entries in Recipients
	MaxRecipientLen  = 4096          // bytes in one recipient
	MaxNotesLen      = 64 << 10      // bytes in Notes
	MaxComponent     = 255           // highest Component (MCUboot image index)
	MaxImageSize     = 1<<32 + 1<<20 // an MCUboot image: a 4 GiB payload plus header and TLVs
	maxPayloadFactor = 2             // payload.size is at most 2×image.size + 1 MiB (age adds 16 bytes per 64 KiB)
)

// Manifest describes one firmware release. It is signed as a COSE_Sign1
// (see Signed) and says everything about the release that anyone, the
// server included, may know; the firmware itself travels encrypted in the
// payload. docs/bundle-format.md gives its CDDL.
//
// The JSON form (the release API's) uses the same field names as the CBOR
// form, with digests in hex and Created in RFC 3339.
type Manifest struct {
	// Format is ManifestFormat.
	Format int `json:"format"`
	// Product names the product line, e.g. "thermo-x2".
	Product string `json:"product"`
	// Component is the MCUboot image index the release is for: 0 for the
	// application image, 1 for a second core's image, and so on.
	Component int `json:"component"`
	// Version is the release's version; it matches the image header's.
	Version Version `json:"version"`
	// SecurityCounter is MCUboot's rollback-protection counter for the image
	// (its SEC_CNT TLV), or 0 when the image carries none.
	SecurityCounter uint32 `json:"security_counter"`
	// Channel names the release channel, e.g. "stable" or "beta".
	Channel string `json:"channel"`
	// Hardware lists the board or hardware revisions the image runs on.
	// Empty means the release does not restrict the product's hardware.
	Hardware []string `json:"hardware"`
	// Created is when the release was made, to the second, in UTC.
	Created time.Time `json:"created"`
	// Image identifies the MCUboot image inside the payload.
	Image ImageInfo `json:"image"`
	// Payload identifies the age-encrypted payload exactly as stored.
	Payload PayloadInfo `json:"payload"`
	// Recipients lists the age recipients ("age1…") the payload is
	// encrypted to, so anyone can see who can open it. Empty when a
	// passphrase protects the payload instead.
	Recipients []string `json:"recipients"`
	// Passphrase reports that the payload is encrypted to a passphrase
	// (age scrypt). age allows a passphrase only alone, so Passphrase and
	// Recipients are never both set.
	Passphrase bool `json:"passphrase"`
	// Notes are the release notes, free UTF-8 text.
	Notes string `json:"notes,omitempty"`
	// ImageFormat says what the payload holds: empty or ImageFormatMCUboot
	// for one MCUboot image (all bundles before flash sets), or
	// ImageFormatESPFlashSet. For a flash set, Image is the size and
	// SHA-256 of the parts back to back.
	ImageFormat string `json:"image_format,omitempty"`
	// Parts lists a flash set's binaries, in payload order.
	Parts []Part `json:"parts,omitempty"`
}

// ImageInfo identifies an MCUboot image.
type ImageInfo struct {
	// SHA256 is the value of the image's SHA256 TLV: the hash MCUboot and
	// SMP's image list report for it.
	SHA256 Digest `json:"sha256"`
	// Size is the image file's size in bytes, TLVs included.
	Size int64 `json:"size"`
}

// PayloadInfo identifies the encrypted payload.
type PayloadInfo struct {
	// SHA256 is the SHA-256 of the payload's ciphertext, the age file.
	SHA256 Digest `json:"sha256"`
	// Size is the age file's size in bytes.
	Size int64 `json:"size"`
}

// wireManifest is a Manifest as CBOR encodes it.
type wireManifest struct {
	Format          uint64     `cbor:"format"`
	Product         string     `cbor:"product"`
	Component       uint64     `cbor:"component"`
	Version         string     `cbor:"version"`
	SecurityCounter uint64     `cbor:"security_counter"`
	Channel         string     `cbor:"channel"`
	Hardware        []string   `cbor:"hardware"`
	Created         uint64     `cbor:"created"`
	Image           wireInfo   `cbor:"image"`
	Payload         wireInfo   `cbor:"payload"`
	Recipients      []string   `cbor:"recipients"`
	Passphrase      bool       `cbor:"passphrase"`
	Notes           string     `cbor:"notes,omitempty"`
	ImageFormat     string     `cbor:"image_format,omitempty"`
	Parts           []wirePart `cbor:"parts,omitempty"`
}

type wireInfo struct {
	SHA256 []byte `cbor:"sha256"`
	Size   uint64 `cbor:"size"`
}

// Manifests are encoded in CBOR's core deterministic encoding, so a
// manifest has exactly one encoding, and decoded strictly (no duplicate or
// unknown keys, no tags, no indefinite lengths) within manifestLimits.
var manifestLimits = cbor.Limits{MaxNested: 4, MaxArray: MaxHardware + MaxRecipients, MaxPairs: 32}

// encode validates m and returns its canonical CBOR encoding.
func (m *Manifest) encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	w := wireManifest{
		Format:          uint64(m.Format),
		Product:         m.Product,
		Component:       uint64(m.Component),
		Version:         m.Version.String(),
		SecurityCounter: uint64(m.SecurityCounter),
		Channel:         m.Channel,
		Hardware:        m.Hardware,
		Created:         uint64(m.Created.Unix()),
		Image:           wireInfo{SHA256: m.Image.SHA256[:], Size: uint64(m.Image.Size)},
		Payload:         wireInfo{SHA256: m.Payload.SHA256[:], Size: uint64(m.Payload.Size)},
		Recipients:      m.Recipients,
		Passphrase:      m.Passphrase,
		Notes:           m.Notes,
		Parts:           partsToWire(m.Parts),
	}
	if m.ImageFormat != ImageFormatMCUboot {
		w.ImageFormat = m.ImageFormat // absent means MCUboot
	}
	b, err := cbor.MarshalDeterministic(w)
	if err != nil {
		return nil, usererr.Errorf("bundle", "encode manifest: %w", err)
	}
	return b, nil
}

// decodeManifest decodes and validates a manifest, refusing any encoding but
// the canonical one.
func decodeManifest(b []byte) (*Manifest, error) {
	var w wireManifest
	if err := cbor.UnmarshalStrict(b, &w, manifestLimits); err != nil {
		return nil, usererr.Errorf("", "%w: manifest: %v", ErrMalformed, err)
	}
	if w.Format != ManifestFormat {
		return nil, usererr.Errorf("", "%w: manifest format %d (want %d)", ErrUnsupported, w.Format, ManifestFormat)
	}
	if w.Component > MaxComponent || w.SecurityCounter > 1<<32-1 ||
		w.Created > 1<<40 || w.Image.Size > MaxImageSize || w.Payload.Size > 1<<62 {
		return nil, usererr.Errorf("", "%w: manifest: a number is out of range", ErrMalformed)
	}
	v, err := ParseVersion(w.Version)
	if err != nil {
		return nil, err
	}
	m := &Manifest{
		Format:          int(w.Format),
		Product:         w.Product,
		Component:       int(w.Component),
		Version:         v,
		SecurityCounter: uint32(w.SecurityCounter),
		Channel:         w.Channel,
		Hardware:        w.Hardware,
		Created:         time.Unix(int64(w.Created), 0).UTC(),
		Image:           ImageInfo{Size: int64(w.Image.Size)},
		Payload:         PayloadInfo{Size: int64(w.Payload.Size)},
		Recipients:      w.Recipients,
		Passphrase:      w.Passphrase,
		Notes:           w.Notes,
		ImageFormat:     w.ImageFormat,
	}
	if m.Parts, err = partsFromWire(w.Parts); err != nil {
		return nil, err
	}
	if len(w.Image.SHA256) != len(m.Image.SHA256) || len(w.Payload.SHA256) != len(m.Payload.SHA256) {
		return nil, usererr.Errorf("", "%w: manifest: a digest is not %d bytes", ErrMalformed, len(m.Image.SHA256))
	}
	if m.Hardware == nil {
		m.Hardware = []string{}
	}
	if m.Recipients == nil {
		m.Recipients = []string{}
	}
	copy(m.Image.SHA256[:], w.Image.SHA256)
	copy(m.Payload.SHA256[:], w.Payload.SHA256)
	again, err := m.encode()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, usererr.Errorf("", "%w: manifest is not in canonical CBOR encoding", ErrMalformed)
	}
	return m, nil
}

// Validate reports whether m is a complete, well-formed manifest: every
// field present and within its limits, names from the allowed alphabet,
// either recipients or a passphrase. Errors wrap ErrMalformed or
// ErrUnsupported.
func (m *Manifest) Validate() error {
	bad := func(format string, args ...any) error {
		return usererr.Errorf("", "%w: manifest: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	switch {
	case m.Format != ManifestFormat:
		return usererr.Errorf("", "%w: manifest format %d (want %d)", ErrUnsupported, m.Format, ManifestFormat)
	case !validName(m.Product, MaxNameLen, false):
		return bad("product %q: want 1 to %d of A-Z a-z 0-9 . _ -, starting with a letter or digit", m.Product, MaxNameLen)
	case !validName(m.Channel, MaxNameLen, false):
		return bad("channel %q: want 1 to %d of A-Z a-z 0-9 . _ -, starting with a letter or digit", m.Channel, MaxNameLen)
	case m.Component < 0 || m.Component > MaxComponent:
		return bad("component %d: want 0 to %d", m.Component, MaxComponent)
	case len(m.Version.String()) > maxVersionLen:
		return bad("version longer than %d bytes", maxVersionLen)
	case m.Created.Unix() <= 0 || m.Created.Unix() > 1<<40 || m.Created.Nanosecond() != 0:
		return bad("created %v: want a whole second after 1970", m.Created)
	case m.Image.Size <= 0 || m.Image.Size > MaxImageSize:
		return bad("image size %d: want 1 to %d", m.Image.Size, int64(MaxImageSize))
	case m.Payload.Size <= 0 || m.Payload.Size > maxPayloadFactor*m.Image.Size+1<<20:
		return bad("payload size %d for an image of %d bytes", m.Payload.Size, m.Image.Size)
	case len(m.Hardware) > MaxHardware:
		return bad("%d hardware entries (at most %d)", len(m.Hardware), MaxHardware)
	case len(m.Recipients) > MaxRecipients:
		return bad("%d recipients (at most %d)", len(m.Recipients), MaxRecipients)
	case len(m.Recipients) == 0 && !m.Passphrase:
		return bad("no recipients and no passphrase: nobody could open the payload")
	case len(m.Recipients) > 0 && m.Passphrase:
		return bad("both recipients and a passphrase: age allows a passphrase only alone")
	case len(m.Notes) > MaxNotesLen:
		return bad("notes longer than %d bytes", MaxNotesLen)
	case !utf8.ValidString(m.Notes):
		return bad("notes are not UTF-8")
	}
	if _, err := ParseVersion(m.Version.String()); err != nil {
		return err
	}
	if err := m.validateFormat(); err != nil {
		return err
	}
	for _, h := range m.Hardware {
		if !validName(h, MaxHardwareLen, true) {
			return bad("hardware %q: want 1 to %d of A-Z a-z 0-9 . _ - + / @ :, starting with a letter or digit", h, MaxHardwareLen)
		}
	}
	for i, r := range m.Recipients {
		if len(r) > MaxRecipientLen {
			return bad("recipient %d is longer than %d bytes", i+1, MaxRecipientLen)
		}
		if _, err := ParseRecipient(r); err != nil {
			return bad("recipient %d: %v", i+1, err)
		}
	}
	return nil
}

// validName reports whether s is 1 to max bytes of [A-Za-z0-9._-] (plus
// [+/@:] when wide) starting with a letter or digit.
func validName(s string, max int, wide bool) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		case i > 0 && wide && (c == '+' || c == '/' || c == '@' || c == ':'):
		default:
			return false
		}
	}
	return true
}
