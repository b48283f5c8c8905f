package bundle

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"io"
	"slices"

	"trustforge/internal/usererr"

	"trustforge/crypto/cose"

	"trustforge/internal/cbor"
)

// ContentType is the COSE content type (protected header 3) of a signed
// manifest.
const ContentType = "application/vnd.trustforge.manifest+cbor"

// SignatureLabel is the COSE external_aad every manifest signature covers.
// It separates manifest signatures from any other COSE signature made with
// the same key; a new signing scheme gets a new label.
const SignatureLabel = "trustforge/bundle/manifest/v1"

// HeaderLabelSPKI is the private-use COSE header label under which a signed
// manifest carries the signer's SubjectPublicKeyInfo DER. The key ID (kid,
// label 4) is the SHA-256 of the same bytes.
const HeaderLabelSPKI int64 = -65537

// MaxSignedSize bounds a signed manifest (the COSE_Sign1) in bytes.
const MaxSignedSize = 1 << 20

// KeyFingerprint returns the SHA-256 of pub's SubjectPublicKeyInfo DER in
// lowercase hex: the name of a release-signing key, the key ID in a signed
// manifest, and for an MCUboot signing key the value of its KEYHASH TLV.
// pub is a standard library public key (*ecdsa.PublicKey, ed25519.PublicKey).
func KeyFingerprint(pub crypto.PublicKey) (string, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", usererr.Errorf("bundle", "key fingerprint: %w", err)
	}
	sum := sha256.Sum256(spki)
	return hex.EncodeToString(sum[:]), nil
}

// algorithmFor returns the COSE algorithm for a signing key: ES256 for
// ECDSA P-256, EdDSA for Ed25519.
func algorithmFor(pub crypto.PublicKey) (cose.Algorithm, error) {
	if alg, ok := cose.AlgorithmFor(pub); ok {
		return alg, nil
	}
	if k, ok := pub.(*ecdsa.PublicKey); ok {
		return 0, usererr.Errorf("", "%w: ECDSA curve %s (want P-256)", ErrUnsupported, k.Curve.Params().Name)
	}
	return 0, usererr.Errorf("", "%w: key type %T (want ECDSA P-256 or Ed25519)", ErrUnsupported, pub)
}

// protectedHeader returns the one encoding of an envelope's protected
// header (a bstr wrapping the map {1: alg, 3: contentType, 4: kid,
// -65537: spki}).
func protectedHeader(alg cose.Algorithm, contentType string, kid, spki []byte) []byte {
	outer, err := cbor.MarshalDeterministic(protectedMap(alg, contentType, kid, spki))
	if err != nil {
		panic(err) // a byte string always encodes
	}
	return outer
}

// protectedMap returns the encoded protected header map the envelope's
// protected header wraps, in core deterministic encoding.
func protectedMap(alg cose.Algorithm, contentType string, kid, spki []byte) []byte {
	return cose.AppendHeader(nil, map[int64]any{
		cose.HeaderAlgorithm:   int64(alg),
		cose.HeaderContentType: contentType,
		cose.HeaderKeyID:       kid,
		HeaderLabelSPKI:        spki,
	})
}

// Signed is a signed manifest: a COSE_Sign1 over the manifest's CBOR (an
// Envelope of ManifestKind). It is built by Sign, ParseSigned or
// ReadHeader; its manifest is available only after Verify (or
// VerifyIntegrity) succeeds.
type Signed struct {
	env      *Envelope
	raw      []byte
	manifest *Manifest
}

// Sign signs m with key, an ECDSA P-256 or Ed25519 crypto.Signer, reading
// randomness for ECDSA from rand (crypto/rand when nil). m must be complete
// (see Manifest.Validate).
func Sign(rand io.Reader, m *Manifest, key crypto.Signer) (*Signed, error) {
	if _, err := algorithmFor(key.Public()); err != nil {
		return nil, err
	}
	payload, err := m.encode()
	if err != nil {
		return nil, err
	}
	env, err := SignEnvelope(rand, ManifestKind, payload, key)
	if err != nil {
		return nil, err
	}
	return ParseSigned(env.raw)
}

// ParseSigned parses a signed manifest (the bytes of a .tfb's manifest part)
// without verifying its signature. It refuses anything but the one encoding
// Sign produces: a tagged COSE_Sign1 with exactly the protected header
// described in docs/bundle-format.md, an empty unprotected header, an
// attached canonical manifest, and a signature of the algorithm's size.
func ParseSigned(b []byte) (*Signed, error) {
	if len(b) > MaxSignedSize {
		return nil, usererr.Errorf("", "%w: signed manifest of %d bytes (at most %d)", ErrTooLarge, len(b), MaxSignedSize)
	}
	env, err := ParseEnvelope(ManifestKind, b)
	if err != nil {
		return nil, err
	}
	s := &Signed{env: env, raw: env.raw}
	if s.manifest, err = decodeManifest(env.msg.Payload); err != nil {
		return nil, err
	}
	return s, nil
}

// Bytes returns the signed manifest's encoding: the manifest part of a
// bundle. The caller may modify the returned slice.
func (s *Signed) Bytes() []byte { return bytes.Clone(s.raw) }

// KeyID returns the fingerprint (see KeyFingerprint) of the key the
// manifest claims to be signed by. It is a claim until Verify succeeds.
func (s *Signed) KeyID() string { return s.env.KeyID() }

// Algorithm returns the signature algorithm's COSE name: "ES256" or "EdDSA".
func (s *Signed) Algorithm() string { return s.env.Algorithm() }

// PublicKey returns the public key the signed manifest carries, whose
// fingerprint is KeyID. Carrying it proves nothing about who signed: trust
// comes from Verify's trusted keys.
func (s *Signed) PublicKey() crypto.PublicKey { return s.env.PublicKey() }

// ManifestDigest returns the SHA-256 of the manifest's canonical CBOR: a
// stable name for the release. Two signatures of the same manifest (ECDSA
// signatures differ each time) have the same digest.
func (s *Signed) ManifestDigest() Digest { return s.env.PayloadDigest() }

// Verify checks that the manifest is signed by one of the trusted keys
// (standard library public keys: *ecdsa.PublicKey on P-256 or
// ed25519.PublicKey) and returns it. The signer is the trusted key whose
// KeyFingerprint equals KeyID. Errors wrap ErrUntrustedKey when no trusted
// key has that fingerprint and ErrBadSignature when the signature fails.
func (s *Signed) Verify(trusted ...crypto.PublicKey) (*Manifest, error) {
	if _, err := s.env.Verify(trusted...); err != nil {
		return nil, err
	}
	return s.copyManifest(), nil
}

// VerifyIntegrity checks the signature against the public key the signed
// manifest carries, and returns the manifest. It proves the manifest was not
// changed since someone holding that key signed it, not that the key is
// trusted: use it only to show a bundle, with its KeyID, and use Verify to
// accept one.
func (s *Signed) VerifyIntegrity() (*Manifest, error) {
	if _, err := s.env.VerifyIntegrity(); err != nil {
		return nil, err
	}
	return s.copyManifest(), nil
}

func (s *Signed) copyManifest() *Manifest {
	m := *s.manifest
	m.Hardware = slices.Clone(m.Hardware)
	m.Recipients = slices.Clone(m.Recipients)
	return &m
}
