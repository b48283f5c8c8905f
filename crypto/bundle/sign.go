package bundle

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
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

// signedEnc encodes protected headers deterministically.
var signedEnc = mustEncMode(cbor.EncOptions{Sort: cbor.SortCoreDeterministic, IndefLength: cbor.IndefLengthForbidden})

// KeyFingerprint returns the SHA-256 of pub's SubjectPublicKeyInfo DER in
// lowercase hex: the name of a release-signing key, the key ID in a signed
// manifest, and for an MCUboot signing key the value of its KEYHASH TLV.
// pub is a standard library public key (*ecdsa.PublicKey, ed25519.PublicKey).
func KeyFingerprint(pub crypto.PublicKey) (string, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("bundle: key fingerprint: %w", err)
	}
	sum := sha256.Sum256(spki)
	return hex.EncodeToString(sum[:]), nil
}

// algorithmFor returns the COSE algorithm for a signing key: ES256 for
// ECDSA P-256, EdDSA for Ed25519.
func algorithmFor(pub crypto.PublicKey) (cose.Algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return cose.AlgorithmES256, nil
		}
		return 0, fmt.Errorf("%w: ECDSA curve %s (want P-256)", ErrUnsupported, k.Curve.Params().Name)
	case ed25519.PublicKey:
		return cose.AlgorithmEdDSA, nil
	}
	return 0, fmt.Errorf("%w: key type %T (want ECDSA P-256 or Ed25519)", ErrUnsupported, pub)
}

// protectedHeader returns the one encoding of a manifest's protected header
// (a bstr wrapping the map {1: alg, 3: ContentType, 4: kid, -65537: spki}).
func protectedHeader(alg cose.Algorithm, kid, spki []byte) []byte {
	m := map[int64]any{
		cose.HeaderLabelAlgorithm:   int64(alg),
		cose.HeaderLabelContentType: ContentType,
		cose.HeaderLabelKeyID:       kid,
		HeaderLabelSPKI:             spki,
	}
	inner, err := signedEnc.Marshal(m)
	if err != nil {
		panic(err) // plain values always encode
	}
	outer, err := signedEnc.Marshal(inner)
	if err != nil {
		panic(err)
	}
	return outer
}

// Signed is a signed manifest: a COSE_Sign1 over the manifest's CBOR. It is
// built by Sign, ParseSigned or ReadHeader; its manifest is available only
// after Verify (or VerifyIntegrity) succeeds.
type Signed struct {
	raw      []byte
	msg      cose.Sign1Message
	alg      cose.Algorithm
	kid      Digest
	pub      crypto.PublicKey
	manifest *Manifest
}

// Sign signs m with key, an ECDSA P-256 or Ed25519 crypto.Signer, reading
// randomness for ECDSA from rand (crypto/rand when nil). m must be complete
// (see Manifest.Validate).
func Sign(rand io.Reader, m *Manifest, key crypto.Signer) (*Signed, error) {
	alg, err := algorithmFor(key.Public())
	if err != nil {
		return nil, err
	}
	payload, err := m.encode()
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("bundle: sign: %w", err)
	}
	kid := sha256.Sum256(spki)
	signer, err := cose.NewSigner(alg, key)
	if err != nil {
		return nil, fmt.Errorf("bundle: sign: %w", err)
	}
	msg := cose.Sign1Message{
		Headers: cose.Headers{
			RawProtected: protectedHeader(alg, kid[:], spki),
			Protected:    cose.ProtectedHeader{cose.HeaderLabelAlgorithm: alg},
			Unprotected:  cose.UnprotectedHeader{},
		},
		Payload: payload,
	}
	if err := msg.Sign(rand, []byte(SignatureLabel), signer); err != nil {
		return nil, fmt.Errorf("bundle: sign: %w", err)
	}
	raw, err := msg.MarshalCBOR()
	if err != nil {
		return nil, fmt.Errorf("bundle: sign: %w", err)
	}
	return ParseSigned(raw)
}

// ParseSigned parses a signed manifest (the bytes of a .tfb's manifest part)
// without verifying its signature. It refuses anything but the one encoding
// Sign produces: a tagged COSE_Sign1 with exactly the protected header
// described in docs/bundle-format.md, an empty unprotected header, an
// attached canonical manifest, and a signature of the algorithm's size.
func ParseSigned(b []byte) (*Signed, error) {
	if len(b) > MaxSignedSize {
		return nil, fmt.Errorf("%w: signed manifest of %d bytes (at most %d)", ErrTooLarge, len(b), MaxSignedSize)
	}
	s := &Signed{raw: bytes.Clone(b)}
	if err := s.msg.UnmarshalCBOR(s.raw); err != nil {
		return nil, fmt.Errorf("%w: signed manifest: %v", ErrMalformed, err)
	}
	again, err := s.msg.MarshalCBOR()
	if err != nil || !bytes.Equal(again, s.raw) {
		return nil, fmt.Errorf("%w: signed manifest is not in canonical CBOR encoding", ErrMalformed)
	}
	if !bytes.Equal(s.msg.Headers.RawUnprotected, []byte{0xa0}) {
		return nil, fmt.Errorf("%w: signed manifest has unprotected header parameters", ErrMalformed)
	}
	h := s.msg.Headers.Protected
	alg, err := h.Algorithm()
	if err != nil {
		return nil, fmt.Errorf("%w: signed manifest algorithm: %v", ErrMalformed, err)
	}
	var sigLen int
	switch alg {
	case cose.AlgorithmES256:
		sigLen = 64
	case cose.AlgorithmEdDSA:
		sigLen = ed25519.SignatureSize
	default:
		return nil, fmt.Errorf("%w: signature algorithm %v (want ES256 or EdDSA)", ErrUnsupported, alg)
	}
	if len(s.msg.Signature) != sigLen {
		return nil, fmt.Errorf("%w: %v signature of %d bytes (want %d)", ErrMalformed, alg, len(s.msg.Signature), sigLen)
	}
	if ct, _ := h[cose.HeaderLabelContentType].(string); ct != ContentType {
		return nil, fmt.Errorf("%w: signed content type %q (want %q)", ErrMalformed, ct, ContentType)
	}
	kid, _ := h[cose.HeaderLabelKeyID].([]byte)
	spki, _ := h[HeaderLabelSPKI].([]byte)
	if len(kid) != len(s.kid) || len(spki) == 0 {
		return nil, fmt.Errorf("%w: signed manifest lacks its key ID or public key", ErrMalformed)
	}
	if !bytes.Equal(s.msg.Headers.RawProtected, protectedHeader(alg, kid, spki)) {
		return nil, fmt.Errorf("%w: signed manifest protected header is not the expected one", ErrMalformed)
	}
	if sum := sha256.Sum256(spki); !bytes.Equal(sum[:], kid) {
		return nil, fmt.Errorf("%w: signed manifest key ID is not the hash of its public key", ErrMalformed)
	}
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, fmt.Errorf("%w: signer public key: %v", ErrMalformed, err)
	}
	if a, err := algorithmFor(pub); err != nil || a != alg {
		return nil, fmt.Errorf("%w: signer key does not match algorithm %v", ErrMalformed, alg)
	}
	s.alg, s.pub = alg, pub
	copy(s.kid[:], kid)
	if s.manifest, err = decodeManifest(s.msg.Payload); err != nil {
		return nil, err
	}
	return s, nil
}

// Bytes returns the signed manifest's encoding: the manifest part of a
// bundle. The caller may modify the returned slice.
func (s *Signed) Bytes() []byte { return bytes.Clone(s.raw) }

// KeyID returns the fingerprint (see KeyFingerprint) of the key the manifest
// claims to be signed by. It is a claim until Verify succeeds.
func (s *Signed) KeyID() string { return s.kid.String() }

// Algorithm returns the signature algorithm's COSE name: "ES256" or "EdDSA".
func (s *Signed) Algorithm() string { return s.alg.String() }

// PublicKey returns the public key the signed manifest carries, whose
// fingerprint is KeyID. Carrying it proves nothing about who signed: trust
// comes from Verify's trusted keys.
func (s *Signed) PublicKey() crypto.PublicKey { return s.pub }

// ManifestDigest returns the SHA-256 of the manifest's canonical CBOR: a
// stable name for the release. Two signatures of the same manifest (ECDSA
// signatures differ each time) have the same digest.
func (s *Signed) ManifestDigest() Digest { return sha256.Sum256(s.msg.Payload) }

// Verify checks that the manifest is signed by one of the trusted keys
// (standard library public keys: *ecdsa.PublicKey on P-256 or
// ed25519.PublicKey) and returns it. The signer is the trusted key whose
// KeyFingerprint equals KeyID. Errors wrap ErrUntrustedKey when no trusted
// key has that fingerprint and ErrBadSignature when the signature fails.
func (s *Signed) Verify(trusted ...crypto.PublicKey) (*Manifest, error) {
	for i, k := range trusted {
		fp, err := KeyFingerprint(k)
		if err != nil {
			return nil, fmt.Errorf("bundle: trusted key %d: %w", i+1, err)
		}
		if fp == s.KeyID() {
			return s.verifyWith(k)
		}
	}
	return nil, fmt.Errorf("%w: manifest is signed by key %s, which is not among the %d trusted keys", ErrUntrustedKey, s.KeyID(), len(trusted))
}

// VerifyIntegrity checks the signature against the public key the signed
// manifest carries, and returns the manifest. It proves the manifest was not
// changed since someone holding that key signed it, not that the key is
// trusted: use it only to show a bundle, with its KeyID, and use Verify to
// accept one.
func (s *Signed) VerifyIntegrity() (*Manifest, error) { return s.verifyWith(s.pub) }

func (s *Signed) verifyWith(pub crypto.PublicKey) (*Manifest, error) {
	if a, err := algorithmFor(pub); err != nil || a != s.alg {
		return nil, fmt.Errorf("%w: key of type %T cannot verify %v", ErrBadSignature, pub, s.alg)
	}
	v, err := cose.NewVerifier(s.alg, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if err := s.msg.Verify([]byte(SignatureLabel), v); err != nil {
		if errors.Is(err, cose.ErrVerification) {
			return nil, fmt.Errorf("%w: manifest signature by key %s does not verify", ErrBadSignature, s.KeyID())
		}
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	m := *s.manifest
	m.Hardware = slices.Clone(m.Hardware)
	m.Recipients = slices.Clone(m.Recipients)
	return &m, nil
}
