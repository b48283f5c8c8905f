package bundle

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"io"

	"trustforge/crypto/cose"
	"trustforge/internal/usererr"
)

// EnvelopeKind names one kind of document trustforge signs as a COSE_Sign1:
// release manifests (ManifestKind), and others such as production packages
// and tickets (crypto/production). Kinds keep signatures apart: a signature
// made for one kind never verifies as another, because each has its own
// content type in the protected header and its own label as external_aad.
type EnvelopeKind struct {
	// Name names the document in error messages, e.g. "manifest".
	Name string
	// ContentType is the protected header's content type (label 3), e.g.
	// "application/vnd.trustforge.manifest+cbor".
	ContentType string
	// Label is the external_aad every signature of this kind covers, a
	// versioned domain-separation string such as
	// "trustforge/bundle/manifest/v1".
	Label string
	// Max bounds the encoded envelope in bytes; zero means MaxSignedSize.
	Max int
}

// ManifestKind is the kind of a release bundle's signed manifest.
var ManifestKind = EnvelopeKind{Name: "manifest", ContentType: ContentType, Label: SignatureLabel}

func (k EnvelopeKind) name() string {
	if k.Name == "" {
		return "signed document"
	}
	return "signed " + k.Name
}

func (k EnvelopeKind) max() int {
	if k.Max <= 0 {
		return MaxSignedSize
	}
	return k.Max
}

// Envelope is a signed document in trustforge's one COSE encoding: a
// tagged COSE_Sign1 whose protected header holds exactly the algorithm
// (ES256 or EdDSA), the kind's content type, the key ID (SHA-256 of the
// signer's SubjectPublicKeyInfo) and the SubjectPublicKeyInfo itself, with
// an empty unprotected header and an attached payload. docs/bundle-format.md
// describes it for manifests; other kinds differ only in content type and
// label. Its payload is trustworthy only once Verify returns it.
type Envelope struct {
	kind EnvelopeKind
	raw  []byte
	msg  *cose.Sign1
	alg  cose.Algorithm
	kid  Digest
	pub  crypto.PublicKey
}

// SignEnvelope signs payload as a document of kind with key, an ECDSA
// P-256 or Ed25519 crypto.Signer, reading randomness for ECDSA from rand
// (crypto/rand when nil).
func SignEnvelope(rand io.Reader, kind EnvelopeKind, payload []byte, key crypto.Signer) (*Envelope, error) {
	if kind.ContentType == "" || kind.Label == "" {
		return nil, usererr.New("bundle", "sign: an envelope kind needs a content type and a label")
	}
	if payload == nil {
		return nil, usererr.New("bundle", "sign: no payload")
	}
	alg, err := algorithmFor(key.Public())
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, usererr.Errorf("bundle", "sign: %w", err)
	}
	kid := sha256.Sum256(spki)
	msg := cose.Sign1{Protected: protectedMap(alg, kind.ContentType, kid[:], spki), Payload: payload}
	if err := msg.Sign(rand, []byte(kind.Label), key); err != nil {
		return nil, usererr.Errorf("bundle", "sign: %w", err)
	}
	raw := msg.Marshal()
	return ParseEnvelope(kind, raw)
}

// ParseEnvelope parses a signed document of kind without verifying its
// signature. It refuses anything but the one encoding SignEnvelope
// produces; errors wrap ErrTooLarge, ErrMalformed or ErrUnsupported.
func ParseEnvelope(kind EnvelopeKind, b []byte) (*Envelope, error) {
	if len(b) > kind.max() {
		return nil, usererr.Errorf("", "%w: %s of %d bytes (at most %d)", ErrTooLarge, kind.name(), len(b), kind.max())
	}
	e := &Envelope{kind: kind, raw: bytes.Clone(b)}
	msg, err := cose.Parse(e.raw)
	if err != nil {
		return nil, usererr.Errorf("", "%w: %s: %v", ErrMalformed, kind.name(), err)
	}
	e.msg = msg
	h, err := cose.ParseHeader(msg.Protected)
	if err != nil {
		return nil, usererr.Errorf("", "%w: %s: %v", ErrMalformed, kind.name(), err)
	}
	a, ok := h[cose.HeaderAlgorithm].(int64)
	if !ok {
		return nil, usererr.Errorf("", "%w: %s algorithm: missing or not an integer", ErrMalformed, kind.name())
	}
	alg := cose.Algorithm(a)
	var sigLen int
	switch alg {
	case cose.ES256:
		sigLen = 64
	case cose.EdDSA:
		sigLen = ed25519.SignatureSize
	default:
		return nil, usererr.Errorf("", "%w: signature algorithm %v (want ES256 or EdDSA)", ErrUnsupported, alg)
	}
	if len(e.msg.Signature) != sigLen {
		return nil, usererr.Errorf("", "%w: %v signature of %d bytes (want %d)", ErrMalformed, alg, len(e.msg.Signature), sigLen)
	}
	if ct, _ := h[cose.HeaderContentType].(string); ct != kind.ContentType {
		return nil, usererr.Errorf("", "%w: signed content type %q (want %q)", ErrMalformed, ct, kind.ContentType)
	}
	kid, _ := h[cose.HeaderKeyID].([]byte)
	spki, _ := h[HeaderLabelSPKI].([]byte)
	if len(kid) != len(e.kid) || len(spki) == 0 {
		return nil, usererr.Errorf("", "%w: %s lacks its key ID or public key", ErrMalformed, kind.name())
	}
	if !bytes.Equal(msg.Protected, protectedMap(alg, kind.ContentType, kid, spki)) {
		return nil, usererr.Errorf("", "%w: %s protected header is not the expected one", ErrMalformed, kind.name())
	}
	if sum := sha256.Sum256(spki); !bytes.Equal(sum[:], kid) {
		return nil, usererr.Errorf("", "%w: %s key ID is not the hash of its public key", ErrMalformed, kind.name())
	}
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, usererr.Errorf("", "%w: signer public key: %v", ErrMalformed, err)
	}
	if a, err := algorithmFor(pub); err != nil || a != alg {
		return nil, usererr.Errorf("", "%w: signer key does not match algorithm %v", ErrMalformed, alg)
	}
	e.alg, e.pub = alg, pub
	copy(e.kid[:], kid)
	return e, nil
}

// Bytes returns the envelope's encoding. The caller may modify it.
func (e *Envelope) Bytes() []byte { return bytes.Clone(e.raw) }

// KeyID returns the fingerprint (see KeyFingerprint) of the key the
// envelope claims to be signed by. It is a claim until Verify succeeds.
func (e *Envelope) KeyID() string { return e.kid.String() }

// Algorithm returns the signature algorithm's COSE name: "ES256" or "EdDSA".
func (e *Envelope) Algorithm() string { return e.alg.String() }

// PublicKey returns the public key the envelope carries, whose fingerprint
// is KeyID. Carrying it proves nothing about who signed.
func (e *Envelope) PublicKey() crypto.PublicKey { return e.pub }

// UnverifiedPayload returns the signed payload without checking the
// signature: for showing an envelope, never for trusting it.
func (e *Envelope) UnverifiedPayload() []byte { return bytes.Clone(e.msg.Payload) }

// PayloadDigest returns the SHA-256 of the signed payload: a stable name
// for the document, the same for two signatures of it.
func (e *Envelope) PayloadDigest() Digest { return sha256.Sum256(e.msg.Payload) }

// Verify checks that the envelope is signed by one of the trusted keys
// (*ecdsa.PublicKey on P-256 or ed25519.PublicKey) and returns its
// payload. Errors wrap ErrUntrustedKey when no trusted key has the
// envelope's key ID and ErrBadSignature when the signature fails.
func (e *Envelope) Verify(trusted ...crypto.PublicKey) ([]byte, error) {
	for i, k := range trusted {
		fp, err := KeyFingerprint(k)
		if err != nil {
			return nil, usererr.Errorf("bundle", "trusted key %d: %w", i+1, err)
		}
		if fp == e.KeyID() {
			return e.verifyWith(k)
		}
	}
	return nil, usererr.Errorf("", "%w: %s is signed by key %s, which is not among the %d trusted keys", ErrUntrustedKey, e.kind.name(), e.KeyID(), len(trusted))
}

// VerifyIntegrity checks the signature against the public key the
// envelope carries and returns the payload. It proves the document was not
// changed since someone holding that key signed it, not that the key is
// trusted.
func (e *Envelope) VerifyIntegrity() ([]byte, error) { return e.verifyWith(e.pub) }

func (e *Envelope) verifyWith(pub crypto.PublicKey) ([]byte, error) {
	if a, err := algorithmFor(pub); err != nil || a != e.alg {
		return nil, usererr.Errorf("", "%w: key of type %T cannot verify %v", ErrBadSignature, pub, e.alg)
	}
	if err := e.msg.Verify([]byte(e.kind.Label), pub); err != nil {
		if errors.Is(err, cose.ErrVerification) {
			return nil, usererr.Errorf("", "%w: %s signature by key %s does not verify", ErrBadSignature, e.kind.Name, e.KeyID())
		}
		return nil, usererr.Errorf("", "%w: %v", ErrBadSignature, err)
	}
	return bytes.Clone(e.msg.Payload), nil
}
