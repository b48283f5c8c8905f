package bundle

import (
	"crypto/sha256"
	"encoding/hex"

	"trustforge/internal/usererr"
)

// Digest is a SHA-256 digest. Its text (and JSON) form is lowercase hex.
type Digest [sha256.Size]byte

// String returns d in lowercase hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText encodes d as lowercase hex.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes 64 hex digits into d.
func (d *Digest) UnmarshalText(b []byte) error {
	p, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// ParseDigest decodes a SHA-256 digest written as 64 hex digits.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*len(d) {
		return d, usererr.Errorf("", "%w: digest must be %d hex digits, got %d", ErrMalformed, 2*len(d), len(s))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return Digest{}, usererr.Errorf("", "%w: digest: %v", ErrMalformed, err)
	}
	return d, nil
}
