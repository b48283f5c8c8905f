package production

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"io"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/internal/usererr"
)

// OpenOptions say which signers Open trusts and which identities it tries.
type OpenOptions struct {
	// Trusted are the keys the package may be signed by.
	Trusted []crypto.PublicKey
	// TrustedKeyIDs are fingerprints (hex SHA-256 of the
	// SubjectPublicKeyInfo) of keys the package may be signed by, as the
	// release server lists the keys it verified a package against.
	// At least one of Trusted and TrustedKeyIDs is required.
	TrustedKeyIDs []string
	// Identities are the station's age identities. Required.
	Identities []age.Identity
	// Now is the clock the validity is checked against; nil means
	// time.Now. A package outside its validity is refused with ErrExpired.
	Now func() time.Time
}

// Package is an opened production package.
type Package struct {
	// ID is the package's id (see Signed.ID).
	ID string
	// Signer is the fingerprint of the key that signed it.
	Signer string
	// Manifest is the verified manifest.
	Manifest *Manifest
	// Contents are the decrypted image and batch CA key.
	Contents *Contents
}

// Open reads a whole .tfp from r, verifies its manifest against the
// trusted keys and its validity, decrypts its payload with the first
// identity that opens it, and checks the contents against the manifest.
// Errors wrap ErrNotPackage, ErrMalformed, ErrUntrusted, ErrModified,
// ErrNotForYou or ErrExpired.
func Open(ctx context.Context, r io.Reader, o OpenOptions) (*Package, error) {
	if len(o.Identities) == 0 {
		return nil, usererr.Errorf("", "%w: no identity given", ErrNotForYou)
	}
	s, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	var m *Manifest
	switch {
	case len(o.Trusted) > 0:
		m, err = s.Verify(o.Trusted...)
		if errors.Is(err, ErrUntrusted) && len(o.TrustedKeyIDs) > 0 {
			m, err = s.VerifyKeyIDs(o.TrustedKeyIDs...)
		}
	case len(o.TrustedKeyIDs) > 0:
		m, err = s.VerifyKeyIDs(o.TrustedKeyIDs...)
	default:
		return nil, usererr.New("production", "open: no trusted signer given")
	}
	if err != nil {
		return nil, err
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	if err := m.Open(now()); err != nil {
		return nil, err
	}
	var plain bytes.Buffer
	plain.Grow(int(min(m.Payload.Size, maxContents)))
	lim := &limitWriter{w: &plain, n: maxContents}
	if err := bundle.DecryptStream(ctx, lim, r, m.Payload, o.Identities...); err != nil {
		switch {
		case errors.Is(err, bundle.ErrPayloadMismatch):
			return nil, usererr.Errorf("", "%w: %w", ErrModified, err)
		case errors.Is(err, bundle.ErrNoIdentity):
			return nil, usererr.Errorf("", "%w: it is for %d station(s): %w", ErrNotForYou, len(m.Stations), err)
		case errors.Is(err, errTooMuch):
			return nil, usererr.Errorf("", "%w: contents larger than %d bytes", ErrMalformed, maxContents)
		}
		return nil, usererr.Errorf("production", "%w", err)
	}
	c, err := decodeContents(plain.Bytes())
	if err != nil {
		return nil, err
	}
	if err := c.check(m); err != nil {
		return nil, err
	}
	if err := checkBootKey(s, m, c); err != nil {
		return nil, err
	}
	return &Package{ID: s.ID(), Signer: s.KeyID(), Manifest: m, Contents: c}, nil
}

// checkBootKey verifies the image's signature when the package's signer
// is the boot key the profile fuses: the image boards will accept.
func checkBootKey(s *Signed, m *Manifest, c *Contents) error {
	// A flash set's images are checked by the chip's Secure Boot
	// against its own key digests, not an MCUboot boot key.
	if m.Release.IsFlashSet() || m.Profile.BootKeyHash == "" || m.Profile.BootKeyHash != s.KeyID() {
		return nil
	}
	pub, err := keys.NewPublicKey(s.PublicKey())
	if err != nil {
		return usererr.Errorf("", "%w: signer key: %v", ErrMalformed, err)
	}
	img, err := mcuimg.Parse(c.Image)
	if err != nil {
		return usererr.Errorf("", "%w: the image: %v", ErrModified, err)
	}
	if _, err := img.Verify(mcuimg.VerifyOptions{Keys: []*keys.PublicKey{pub}}); err != nil {
		return usererr.Errorf("", "%w: the image is not signed by the boot key the boards will trust: %v", ErrMalformed, err)
	}
	return nil
}

var errTooMuch = usererr.New("production", "too much plaintext")

// limitWriter refuses writes past n bytes.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errTooMuch
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}
