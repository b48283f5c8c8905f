package bundle

import (
	"context"
	"crypto"
	"io"

	"filippo.io/age"
)

// OpenOptions says whom Open trusts and how it decrypts.
type OpenOptions struct {
	// Trusted are the release-signing public keys a bundle may be signed
	// by (*ecdsa.PublicKey on P-256, ed25519.PublicKey). Empty trusts none,
	// so every bundle fails with ErrUntrustedKey.
	Trusted []crypto.PublicKey
	// Identities open the payload: age identities, or PassphraseIdentity
	// for a passphrase.
	Identities []age.Identity
}

// Open reads a .tfb from r, verifies its manifest against opts.Trusted (see
// Signed.Verify), decrypts its payload to dst and checks it (see Decrypt).
// It returns the verified manifest. As with Decrypt, dst holds unverified
// plaintext until Open returns nil.
func Open(ctx context.Context, dst io.Writer, r io.Reader, opts OpenOptions) (*Manifest, error) {
	s, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	m, err := s.Verify(opts.Trusted...)
	if err != nil {
		return nil, err
	}
	if err := Decrypt(ctx, dst, r, m, opts.Identities...); err != nil {
		return nil, err
	}
	return m, nil
}
