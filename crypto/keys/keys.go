package keys

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"io"

	"trustforge/internal/usererr"
)

// Algorithm names a key algorithm as `imgtool keygen -t` names it.
type Algorithm string

// The supported algorithms.
const (
	ECDSAP256 Algorithm = "ecdsa-p256"
	Ed25519   Algorithm = "ed25519"
	X25519    Algorithm = "x25519"
)

// Algorithms returns every supported algorithm, in the order help texts show them.
func Algorithms() []Algorithm { return []Algorithm{ECDSAP256, Ed25519, X25519} }

// ParseAlgorithm returns the Algorithm named s (for example "ed25519").
func ParseAlgorithm(s string) (Algorithm, error) {
	for _, a := range Algorithms() {
		if string(a) == s {
			return a, nil
		}
	}
	return "", usererr.Errorf("", "%w %q (want ecdsa-p256, ed25519 or x25519)", ErrUnsupported, s)
}

// CanSign reports whether keys of the algorithm make signatures.
func (a Algorithm) CanSign() bool { return a == ECDSAP256 || a == Ed25519 }

// CanEncrypt reports whether keys of the algorithm are MCUboot image
// encryption keys (ECIES-P256 or ECIES-X25519).
func (a Algorithm) CanEncrypt() bool { return a == ECDSAP256 || a == X25519 }

// Errors returned when a key cannot be used or read.
var (
	// ErrUnsupported reports a key algorithm or encoding trustforge does not handle.
	ErrUnsupported = usererr.New("keys", "unsupported key")
	// ErrMalformed reports bytes that are not a well-formed key.
	ErrMalformed = usererr.New("keys", "malformed key")
	// ErrEncryptedKey reports a password-protected private key file.
	ErrEncryptedKey = usererr.New("keys", "password-protected private keys are not supported; export the key without a password")
	// ErrWrongUse reports an operation the key's algorithm cannot do, such as
	// signing with an X25519 key.
	ErrWrongUse = usererr.New("keys", "wrong key type for this operation")
)

// PrivateKey is a private key of one of the supported algorithms.
type PrivateKey struct {
	alg    Algorithm
	ecdsa  *ecdsa.PrivateKey
	ed     ed25519.PrivateKey
	x25519 *ecdh.PrivateKey
	pub    *PublicKey
}

// PublicKey is a public key of one of the supported algorithms.
type PublicKey struct {
	alg  Algorithm
	key  crypto.PublicKey // *ecdsa.PublicKey, ed25519.PublicKey or *ecdh.PublicKey
	spki []byte
}

// Generate makes a new key of the given algorithm, reading randomness from
// rand (crypto/rand.Reader when nil). The standard library may use its own
// secure source regardless of rand.
func Generate(rand io.Reader, alg Algorithm) (*PrivateKey, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	switch alg {
	case ECDSAP256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand)
		if err != nil {
			return nil, usererr.Errorf("keys", "generate %s: %w", alg, err)
		}
		return newPrivate(k)
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand)
		if err != nil {
			return nil, usererr.Errorf("keys", "generate %s: %w", alg, err)
		}
		return newPrivate(k)
	case X25519:
		k, err := ecdh.X25519().GenerateKey(rand)
		if err != nil {
			return nil, usererr.Errorf("keys", "generate %s: %w", alg, err)
		}
		return newPrivate(k)
	}
	return nil, usererr.Errorf("", "%w algorithm %q", ErrUnsupported, alg)
}

// NewPrivateKey wraps a standard library private key: *ecdsa.PrivateKey on
// P-256, ed25519.PrivateKey or an X25519 *ecdh.PrivateKey.
func NewPrivateKey(k crypto.PrivateKey) (*PrivateKey, error) { return newPrivate(k) }

// NewPublicKey wraps a standard library public key: *ecdsa.PublicKey on
// P-256, ed25519.PublicKey or an X25519 *ecdh.PublicKey.
func NewPublicKey(k crypto.PublicKey) (*PublicKey, error) {
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, usererr.Errorf("", "%w: ECDSA curve %s (want P-256)", ErrUnsupported, k.Curve.Params().Name)
		}
		if _, err := k.ECDH(); err != nil {
			return nil, usererr.Errorf("", "%w: %v", ErrMalformed, err)
		}
		return newPublic(ECDSAP256, k)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, usererr.Errorf("", "%w: Ed25519 public key of %d bytes", ErrMalformed, len(k))
		}
		return newPublic(Ed25519, k)
	case *ecdh.PublicKey:
		if k.Curve() != ecdh.X25519() {
			return nil, usererr.Errorf("", "%w: ECDH curve %v (want X25519)", ErrUnsupported, k.Curve())
		}
		return newPublic(X25519, k)
	}
	return nil, usererr.Errorf("", "%w type %T", ErrUnsupported, k)
}

func newPublic(alg Algorithm, k crypto.PublicKey) (*PublicKey, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, usererr.Errorf("keys", "encode %s public key: %w", alg, err)
	}
	return &PublicKey{alg: alg, key: k, spki: der}, nil
}

func newPrivate(k crypto.PrivateKey) (*PrivateKey, error) {
	p := &PrivateKey{}
	var err error
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, usererr.Errorf("", "%w: ECDSA curve %s (want P-256)", ErrUnsupported, k.Curve.Params().Name)
		}
		p.alg, p.ecdsa = ECDSAP256, k
		p.pub, err = NewPublicKey(&k.PublicKey)
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, usererr.Errorf("", "%w: Ed25519 private key of %d bytes", ErrMalformed, len(k))
		}
		p.alg, p.ed = Ed25519, k
		p.pub, err = NewPublicKey(k.Public())
	case *ecdh.PrivateKey:
		if k.Curve() != ecdh.X25519() {
			return nil, usererr.Errorf("", "%w: ECDH curve %v (want X25519)", ErrUnsupported, k.Curve())
		}
		p.alg, p.x25519 = X25519, k
		p.pub, err = NewPublicKey(k.PublicKey())
	default:
		return nil, usererr.Errorf("", "%w type %T", ErrUnsupported, k)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Algorithm returns the key's algorithm.
func (k *PrivateKey) Algorithm() Algorithm { return k.alg }

// Public returns the public half of the key.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// String describes the key without revealing it, e.g. "ed25519 private key 1a2b3c4d".
func (k *PrivateKey) String() string {
	return fmt.Sprintf("%s private key %s", k.alg, k.pub.Fingerprint())
}

// Signer returns the key as a crypto.Signer, or ErrWrongUse for X25519 keys.
// An ECDSA signer signs a digest and returns an ASN.1 signature; an Ed25519
// signer signs the message itself (opts.HashFunc() must be 0).
func (k *PrivateKey) Signer() (crypto.Signer, error) {
	switch k.alg {
	case ECDSAP256:
		return k.ecdsa, nil
	case Ed25519:
		return k.ed, nil
	}
	return nil, usererr.Errorf("", "%w: %s keys cannot sign", ErrWrongUse, k.alg)
}

// ECDH returns the key for key agreement: X25519 keys, and P-256 keys (which
// MCUboot also uses for ECIES-P256). Ed25519 keys give ErrWrongUse.
func (k *PrivateKey) ECDH() (*ecdh.PrivateKey, error) {
	switch k.alg {
	case X25519:
		return k.x25519, nil
	case ECDSAP256:
		e, err := k.ecdsa.ECDH()
		if err != nil {
			return nil, usererr.Errorf("", "%w: %v", ErrMalformed, err)
		}
		return e, nil
	}
	return nil, usererr.Errorf("", "%w: %s keys do no key agreement", ErrWrongUse, k.alg)
}

// Crypto returns the standard library private key: *ecdsa.PrivateKey,
// ed25519.PrivateKey or *ecdh.PrivateKey.
func (k *PrivateKey) Crypto() crypto.PrivateKey {
	switch k.alg {
	case ECDSAP256:
		return k.ecdsa
	case Ed25519:
		return k.ed
	}
	return k.x25519
}

// Equal reports whether k and other are the same private key.
func (k *PrivateKey) Equal(other *PrivateKey) bool {
	if k == nil || other == nil || k.alg != other.alg {
		return false
	}
	switch k.alg {
	case ECDSAP256:
		return k.ecdsa.Equal(other.ecdsa)
	case Ed25519:
		return k.ed.Equal(other.ed)
	}
	return k.x25519.Equal(other.x25519)
}

// Algorithm returns the key's algorithm.
func (k *PublicKey) Algorithm() Algorithm { return k.alg }

// SPKI returns the key's SubjectPublicKeyInfo DER encoding, the bytes MCUboot
// embeds in a bootloader and hashes into an image's KEYHASH TLV. The caller
// may modify the returned slice.
func (k *PublicKey) SPKI() []byte { return append([]byte(nil), k.spki...) }

// Crypto returns the standard library public key: *ecdsa.PublicKey,
// ed25519.PublicKey or *ecdh.PublicKey.
func (k *PublicKey) Crypto() crypto.PublicKey { return k.key }

// ECDH returns the key for key agreement (X25519 and P-256 keys).
func (k *PublicKey) ECDH() (*ecdh.PublicKey, error) {
	switch key := k.key.(type) {
	case *ecdh.PublicKey:
		return key, nil
	case *ecdsa.PublicKey:
		e, err := key.ECDH()
		if err != nil {
			return nil, usererr.Errorf("", "%w: %v", ErrMalformed, err)
		}
		return e, nil
	}
	return nil, usererr.Errorf("", "%w: %s keys do no key agreement", ErrWrongUse, k.alg)
}

// Equal reports whether k and other are the same public key.
func (k *PublicKey) Equal(other *PublicKey) bool {
	if k == nil || other == nil || k.alg != other.alg {
		return false
	}
	return string(k.spki) == string(other.spki)
}

// Fingerprint returns the first 8 bytes of the SHA-256 of the key's SPKI, in
// hex: a short name for logs and UI that is also a prefix of the key hash
// MCUboot images carry.
func (k *PublicKey) Fingerprint() string {
	sum := sha256.Sum256(k.spki)
	return fmt.Sprintf("%x", sum[:8])
}

// String describes the key, e.g. "ed25519 public key 1a2b3c4d5e6f7081".
func (k *PublicKey) String() string {
	return fmt.Sprintf("%s public key %s", k.alg, k.Fingerprint())
}
