package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"filippo.io/age"

	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// Algorithm names the kind of a vault key: the three MCUboot algorithms of
// package keys, or AgeX25519 for an age identity.
type Algorithm string

// The algorithms a vault holds.
const (
	ECDSAP256           = Algorithm(keys.ECDSAP256) // MCUboot and release signing
	Ed25519             = Algorithm(keys.Ed25519)   // MCUboot and release signing
	X25519              = Algorithm(keys.X25519)    // MCUboot image encryption (a device's key)
	AgeX25519 Algorithm = "age-x25519"              // opens release payloads (age identity)
)

// Algorithms lists every algorithm, in the order a menu shows them.
func Algorithms() []Algorithm { return []Algorithm{Ed25519, ECDSAP256, X25519, AgeX25519} }

// ParseAlgorithm returns the Algorithm named s.
func ParseAlgorithm(s string) (Algorithm, error) {
	for _, a := range Algorithms() {
		if string(a) == s {
			return a, nil
		}
	}
	return "", usererr.Errorf("", "%w: unknown algorithm %q", ErrWrongKind, s)
}

// CanSign reports whether keys of the algorithm sign images and releases.
func (a Algorithm) CanSign() bool { return a == ECDSAP256 || a == Ed25519 }

// IsAge reports whether the algorithm is an age identity.
func (a Algorithm) IsAge() bool { return a == AgeX25519 }

// Use describes in a few words what keys of the algorithm are for.
func (a Algorithm) Use() string {
	switch a {
	case ECDSAP256, Ed25519:
		return "signing"
	case X25519:
		return "device image encryption"
	case AgeX25519:
		return "release decryption"
	}
	return "unknown"
}

// Info is the public part of a vault key, readable while the vault is
// locked.
type Info struct {
	// ID is the hex SHA-256 of the key's SubjectPublicKeyInfo DER (MCUboot's
	// KEYHASH, and the release server's key fingerprint) or, for an age
	// identity, of its recipient string.
	ID string `json:"id"`
	// Name is the label the user gave the key.
	Name string `json:"name"`
	// Algorithm is the key's algorithm.
	Algorithm Algorithm `json:"algorithm"`
	// Public is the public half: a PEM "PUBLIC KEY" block, or an age
	// recipient ("age1…").
	Public string `json:"public"`
	// Created is when the key entered the vault.
	Created time.Time `json:"created"`
}

// PublicKey parses the public half of a signing or device encryption key.
// Age identities give ErrWrongKind.
func (i Info) PublicKey() (*keys.PublicKey, error) {
	if i.Algorithm.IsAge() {
		return nil, usererr.Errorf("", "%w: an age identity has no SubjectPublicKeyInfo", ErrWrongKind)
	}
	k, err := keys.ParsePublicKey([]byte(i.Public))
	if err != nil {
		return nil, usererr.Errorf("", "%w: key %s: %v", ErrCorrupt, i.ID, err)
	}
	return k, nil
}

// Fingerprint returns the key's short fingerprint: the first 16 hex digits
// of its ID.
func (i Info) Fingerprint() string {
	if len(i.ID) < 16 {
		return i.ID
	}
	return i.ID[:16]
}

// MaxNameLen bounds a key's name, in bytes.
const MaxNameLen = 128

// cleanName trims a key name and checks it.
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if len(name) > MaxNameLen {
		return "", usererr.Errorf("vault", "key name longer than %d bytes", MaxNameLen)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", usererr.New("vault", "key name has control characters")
		}
	}
	return name, nil
}

// secret is a private key taken out of the vault: exactly one of priv and
// id is set.
type secret struct {
	priv *keys.PrivateKey
	id   *age.X25519Identity
}

// info returns the public record of s.
func (s secret) info(name string, created time.Time) Info {
	if s.id != nil {
		r := s.id.Recipient().String()
		sum := sha256.Sum256([]byte(r))
		return Info{ID: hex.EncodeToString(sum[:]), Name: name, Algorithm: AgeX25519, Public: r, Created: created}
	}
	pub := s.priv.Public()
	sum := sha256.Sum256(pub.SPKI())
	return Info{ID: hex.EncodeToString(sum[:]), Name: name, Algorithm: Algorithm(s.priv.Algorithm()),
		Public: string(pub.MarshalPEM()), Created: created}
}

// marshal encodes the private key as text: PKCS#8 PEM, as imgtool writes
// it, or an AGE-SECRET-KEY line.
func (s secret) marshal() ([]byte, error) {
	if s.id != nil {
		return []byte(s.id.String() + "\n"), nil
	}
	return s.priv.MarshalPEM()
}

// parseSecret reads a private key: a PEM or PKCS#8 key of package keys, or
// an age identity ("AGE-SECRET-KEY-1…"). Public keys and password-protected
// keys are refused with ErrWrongKind.
func parseSecret(data []byte) (secret, error) {
	text := bytes.TrimSpace(data)
	if bytes.HasPrefix(text, []byte("AGE-SECRET-KEY-")) {
		id, err := age.ParseX25519Identity(string(text))
		if err != nil {
			return secret{}, usererr.Errorf("", "%w: not a valid age identity", ErrWrongKind)
		}
		return secret{id: id}, nil
	}
	if bytes.HasPrefix(text, []byte("AGE-PLUGIN-")) || bytes.HasPrefix(text, []byte("AGE-SECRET-KEY-PQ-")) {
		return secret{}, usererr.Errorf("", "%w: only X25519 age identities can be kept in the vault", ErrWrongKind)
	}
	if bytes.HasPrefix(text, []byte("age1")) {
		return secret{}, usererr.Errorf("", "%w: this is an age recipient (public key); the identity (AGE-SECRET-KEY-1…) is needed", ErrWrongKind)
	}
	k, err := keys.ParsePrivateKey(data)
	if err != nil {
		return secret{}, usererr.Errorf("", "%w: %v", ErrWrongKind, err)
	}
	return secret{priv: k}, nil
}

// Key is a private key unsealed from the vault. Keep it only as long as it
// is needed.
type Key struct {
	// Info is the key's public record.
	Info Info
	s    secret
}

// Private returns the signing or device encryption key; age identities
// give ErrWrongKind.
func (k *Key) Private() (*keys.PrivateKey, error) {
	if k.s.priv == nil {
		return nil, usererr.Errorf("", "%w: %s is an age identity", ErrWrongKind, k.Info.Name)
	}
	return k.s.priv, nil
}

// Identity returns the age identity; other keys give ErrWrongKind.
func (k *Key) Identity() (*age.X25519Identity, error) {
	if k.s.id == nil {
		return nil, usererr.Errorf("", "%w: %s is not an age identity", ErrWrongKind, k.Info.Name)
	}
	return k.s.id, nil
}
