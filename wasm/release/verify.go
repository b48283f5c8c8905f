package release

import (
	"crypto"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
	"trustforge/wasm/client"
)

// Checked is a release as this browser verified it.
type Checked struct {
	// Release is the server's record.
	Release client.Release
	// Manifest is the signed manifest's content, set when Err is nil.
	Manifest *bundle.Manifest
	// Signer is the fingerprint of the key that signed the manifest.
	Signer string
	// Err says why the release did not verify; nil means it did.
	Err error
}

// Verified reports whether the release's signed manifest verified.
func (c Checked) Verified() bool { return c.Err == nil && c.Manifest != nil }

// ErrMismatch reports a server record that disagrees with its signed
// manifest.
var ErrMismatch = usererr.New("release", "the server's record differs from the signed manifest")

// TrustedKeys parses a product's registered signing keys, leaving out
// revoked ones.
func TrustedKeys(ks []client.Key) []crypto.PublicKey {
	var out []crypto.PublicKey
	for _, k := range ks {
		if k.Revoked != nil {
			continue
		}
		pk, err := keys.ParsePublicKey([]byte(k.PublicKey))
		if err != nil {
			continue
		}
		out = append(out, pk.Crypto())
	}
	return out
}

// Verify checks a release's signed manifest (downloaded by the caller)
// against trusted keys and checks that the server's record agrees with it:
// same product, version, security counter, payload digest and signer.
func Verify(rel client.Release, signed []byte, trusted []crypto.PublicKey) Checked {
	c := Checked{Release: rel}
	s, err := bundle.ParseSigned(signed)
	if err != nil {
		c.Err = err
		return c
	}
	c.Signer = s.KeyID()
	m, err := s.Verify(trusted...)
	if err != nil {
		c.Err = err
		return c
	}
	switch {
	case m.Product != rel.Product, m.Version.String() != rel.Version, m.Component != rel.Component,
		uint64(m.SecurityCounter) != rel.SecurityCounter, m.Payload.SHA256.String() != rel.PayloadSHA256,
		m.Payload.Size != rel.PayloadSize, s.KeyID() != rel.Signer:
		c.Err = usererr.Errorf("", "%w (release %s)", ErrMismatch, rel.ID)
		return c
	}
	c.Manifest = m
	return c
}
