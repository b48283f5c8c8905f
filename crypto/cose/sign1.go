// Package cose signs and verifies COSE_Sign1 messages (RFC 9052, section
// 4.2) the one way trustforge writes them: tagged (CBOR tag 18), with a
// protected header the caller encodes, an empty unprotected header and an
// attached payload, signed with ES256 (ECDSA P-256 with SHA-256, the
// signature r‖s, 32 bytes each) or EdDSA (Ed25519), as RFC 9053 defines
// them.
//
// Security: Parse accepts only the one encoding Marshal writes (definite
// lengths in their shortest form, nothing after the message), so a message
// has exactly one encoding. A signature covers the protected header, the
// caller's external_aad (a domain-separation label) and the payload: the
// Sig_structure of RFC 9052, section 4.4.
package cose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Algorithm is a COSE algorithm identifier (RFC 9053).
type Algorithm int64

// The signature algorithms this package signs and verifies with.
const (
	ES256 Algorithm = -7 // ECDSA on P-256 with SHA-256
	EdDSA Algorithm = -8 // Ed25519
)

// String returns the algorithm's COSE name.
func (a Algorithm) String() string {
	switch a {
	case ES256:
		return "ES256"
	case EdDSA:
		return "EdDSA"
	case -35:
		return "ES384"
	case -36:
		return "ES512"
	}
	return fmt.Sprintf("algorithm %d", int64(a))
}

// Header parameter labels (RFC 9052, section 3.1).
const (
	HeaderAlgorithm   int64 = 1
	HeaderContentType int64 = 3
	HeaderKeyID       int64 = 4
)

// ErrVerification is returned by Verify when the signature does not verify.
var ErrVerification = errors.New("cose: signature does not verify")

// Sign1 is a COSE_Sign1 message.
type Sign1 struct {
	// Protected is the encoded protected header map (the contents of the
	// message's first byte string).
	Protected []byte
	// Payload is the attached payload.
	Payload []byte
	// Signature is the signature over the Sig_structure.
	Signature []byte
}

// tag18 and array4 start every message: tag 18 (COSE_Sign1) and an array
// of four elements.
const (
	tag18     = 0xd2
	array4    = 0x84
	emptyMap  = 0xa0
	majorText = 3 << 5
	majorByte = 2 << 5
)

// Marshal returns the message's encoding.
func (m *Sign1) Marshal() []byte {
	b := make([]byte, 0, 2+len(m.Protected)+1+len(m.Payload)+len(m.Signature)+3*9)
	b = append(b, tag18, array4)
	b = appendHead(b, majorByte, uint64(len(m.Protected)))
	b = append(b, m.Protected...)
	b = append(b, emptyMap)
	b = appendHead(b, majorByte, uint64(len(m.Payload)))
	b = append(b, m.Payload...)
	b = appendHead(b, majorByte, uint64(len(m.Signature)))
	return append(b, m.Signature...)
}

// Parse parses a message Marshal wrote. The returned message's fields
// alias b.
func Parse(b []byte) (*Sign1, error) {
	if len(b) < 2 || b[0] != tag18 {
		return nil, errors.New("cose: not a tagged COSE_Sign1 message")
	}
	if b[1] != array4 {
		return nil, errors.New("cose: COSE_Sign1 is not an array of four elements")
	}
	d := decoder{b: b, off: 2}
	var m Sign1
	var err error
	if m.Protected, err = d.bytes("protected header"); err != nil {
		return nil, err
	}
	if d.off >= len(b) || b[d.off] != emptyMap {
		return nil, errors.New("cose: unprotected header is not an empty map")
	}
	d.off++
	if d.off < len(b) && b[d.off] == 0xf6 {
		return nil, errors.New("cose: detached payload")
	}
	if m.Payload, err = d.bytes("payload"); err != nil {
		return nil, err
	}
	if m.Signature, err = d.bytes("signature"); err != nil {
		return nil, err
	}
	if d.off != len(b) {
		return nil, fmt.Errorf("cose: %d bytes after the message", len(b)-d.off)
	}
	return &m, nil
}

// toBeSigned returns the Sig_structure for m and external (RFC 9052,
// section 4.4): ["Signature1", protected, external_aad, payload].
func (m *Sign1) toBeSigned(external []byte) []byte {
	const context = "Signature1"
	b := make([]byte, 0, 1+1+len(context)+len(m.Protected)+len(external)+len(m.Payload)+3*9)
	b = append(b, array4)
	b = appendHead(b, majorText, uint64(len(context)))
	b = append(b, context...)
	for _, s := range [][]byte{m.Protected, external, m.Payload} {
		b = appendHead(b, majorByte, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// AlgorithmFor returns the algorithm a public key signs with: ES256 for
// ECDSA P-256, EdDSA for Ed25519; false for other keys.
func AlgorithmFor(pub crypto.PublicKey) (Algorithm, bool) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return ES256, k.Curve == elliptic.P256()
	case ed25519.PublicKey:
		return EdDSA, true
	}
	return 0, false
}

// Sign sets m.Signature to key's signature of m with external as
// external_aad. key is an ECDSA P-256 or Ed25519 crypto.Signer; rand is
// the randomness for ECDSA (crypto/rand when nil). The protected header
// must name the key's algorithm; Sign does not look.
func (m *Sign1) Sign(rnd io.Reader, external []byte, key crypto.Signer) error {
	if rnd == nil {
		rnd = rand.Reader
	}
	alg, ok := AlgorithmFor(key.Public())
	if !ok {
		return fmt.Errorf("cose: cannot sign with a key of type %T", key.Public())
	}
	tbs := m.toBeSigned(external)
	if alg == EdDSA {
		sig, err := key.Sign(rnd, tbs, crypto.Hash(0))
		if err != nil {
			return fmt.Errorf("cose: %w", err)
		}
		m.Signature = sig
		return nil
	}
	digest := sha256.Sum256(tbs)
	var r, s *big.Int
	if k, ok := key.(*ecdsa.PrivateKey); ok {
		var err error
		if r, s, err = ecdsa.Sign(rnd, k, digest[:]); err != nil {
			return fmt.Errorf("cose: %w", err)
		}
	} else {
		der, err := key.Sign(rnd, digest[:], crypto.SHA256)
		if err != nil {
			return fmt.Errorf("cose: %w", err)
		}
		var sig struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &sig); err != nil || len(rest) != 0 {
			return errors.New("cose: the signer's ECDSA signature is not ASN.1 DER")
		}
		r, s = sig.R, sig.S
	}
	if r.Sign() <= 0 || s.Sign() <= 0 || r.BitLen() > 256 || s.BitLen() > 256 {
		return errors.New("cose: ECDSA signature out of range")
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	m.Signature = sig
	return nil
}

// Verify checks m.Signature with pub (an *ecdsa.PublicKey on P-256 or an
// ed25519.PublicKey) and external as external_aad. It returns
// ErrVerification when the signature does not verify.
func (m *Sign1) Verify(external []byte, pub crypto.PublicKey) error {
	tbs := m.toBeSigned(external)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("cose: cannot verify with an ECDSA key on %s", k.Curve.Params().Name)
		}
		if len(m.Signature) != 64 {
			return ErrVerification
		}
		digest := sha256.Sum256(tbs)
		r := new(big.Int).SetBytes(m.Signature[:32])
		s := new(big.Int).SetBytes(m.Signature[32:])
		if !ecdsa.Verify(k, digest[:], r, s) {
			return ErrVerification
		}
		return nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return errors.New("cose: Ed25519 public key of the wrong size")
		}
		if !ed25519.Verify(k, tbs, m.Signature) {
			return ErrVerification
		}
		return nil
	}
	return fmt.Errorf("cose: cannot verify with a key of type %T", pub)
}
