package production

import (
	"crypto"
	"errors"
	"io"
	"slices"

	"trustforge/crypto/bundle"
	"trustforge/internal/usererr"
)

// PackageKind is the kind of a production package's signed manifest.
var PackageKind = bundle.EnvelopeKind{
	Name:        "production package",
	ContentType: "application/vnd.trustforge.production+cbor",
	Label:       "trustforge/production/package/v1",
	Max:         MaxManifestSize,
}

// Signed is a package's signed manifest. Its manifest is available only
// after Verify (or VerifyIntegrity, or VerifyKeyIDs) succeeds.
type Signed struct {
	env      *bundle.Envelope
	manifest *Manifest
}

// sign signs m with key (ECDSA P-256 or Ed25519).
func sign(rand io.Reader, m *Manifest, key crypto.Signer) (*Signed, error) {
	b, err := m.encode()
	if err != nil {
		return nil, err
	}
	env, err := bundle.SignEnvelope(rand, PackageKind, b, key)
	if err != nil {
		return nil, usererr.Errorf("production", "%w", err)
	}
	return ParseSigned(env.Bytes())
}

// ParseSigned parses a signed manifest without verifying its signature,
// refusing anything but its one encoding.
func ParseSigned(b []byte) (*Signed, error) {
	env, err := bundle.ParseEnvelope(PackageKind, b)
	if err != nil {
		return nil, usererr.Errorf("", "%w: %w", ErrMalformed, err)
	}
	m, err := decodeManifest(env.UnverifiedPayload())
	if err != nil {
		return nil, err
	}
	return &Signed{env: env, manifest: m}, nil
}

// Bytes returns the signed manifest's encoding.
func (s *Signed) Bytes() []byte { return s.env.Bytes() }

// ID returns the package's id: the hex SHA-256 of its manifest's CBOR. The
// server names the package by it, and tickets bind it.
func (s *Signed) ID() string { return s.env.PayloadDigest().String() }

// KeyID returns the fingerprint of the key the manifest claims to be
// signed by; a claim until a Verify succeeds.
func (s *Signed) KeyID() string { return s.env.KeyID() }

// PublicKey returns the public key the signed manifest carries.
func (s *Signed) PublicKey() crypto.PublicKey { return s.env.PublicKey() }

// Verify checks that the manifest is signed by one of the trusted keys
// and returns it. Errors wrap ErrUntrusted or ErrModified.
func (s *Signed) Verify(trusted ...crypto.PublicKey) (*Manifest, error) {
	if _, err := s.env.Verify(trusted...); err != nil {
		return nil, signatureErr(err)
	}
	return s.copyManifest(), nil
}

// VerifyKeyIDs checks that the manifest is signed by the key it carries
// and that this key's fingerprint is one of ids (hex SHA-256 of the
// SubjectPublicKeyInfo): for a reader who knows which keys it trusts by
// fingerprint, as a station learns them from the server that verified the
// package on upload. Errors wrap ErrUntrusted or ErrModified.
func (s *Signed) VerifyKeyIDs(ids ...string) (*Manifest, error) {
	if !slices.Contains(ids, s.KeyID()) {
		return nil, usererr.Errorf("", "%w: the package is signed by key %s, not one of the %d trusted", ErrUntrusted, s.KeyID(), len(ids))
	}
	return s.VerifyIntegrity()
}

// VerifyIntegrity checks the signature against the key the manifest
// carries: the package was not changed since that key signed it. It says
// nothing of whether the key is trusted.
func (s *Signed) VerifyIntegrity() (*Manifest, error) {
	if _, err := s.env.VerifyIntegrity(); err != nil {
		return nil, signatureErr(err)
	}
	return s.copyManifest(), nil
}

func signatureErr(err error) error {
	if errors.Is(err, bundle.ErrUntrustedKey) {
		return usererr.Errorf("", "%w: %w", ErrUntrusted, err)
	}
	return usererr.Errorf("", "%w: %w", ErrModified, err)
}

func (s *Signed) copyManifest() *Manifest {
	m := *s.manifest
	m.Stations = slices.Clone(m.Stations)
	m.CA, m.Root = slices.Clone(m.CA), slices.Clone(m.Root)
	return &m
}
