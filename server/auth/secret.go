package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// Prefixes of the secrets the server hands out, so a leaked one is
// recognisable (and secret scanners can find it).
const (
	SessionPrefix = "tfs_"
	TokenPrefix   = "tft_"
	EnrolPrefix   = "tfe_"
)

// Domain-separation labels.
const (
	secretHashLabel = "trustforge/auth/secret-hash/v1\x00"
	csrfLabel       = "trustforge/auth/csrf/v1"
)

// secretLen is the random part of every secret, in bytes (256 bits).
const secretLen = 32

// NewSecret returns a fresh secret with the given prefix, read from rand,
// and the hash under which the server stores it.
func NewSecret(rand io.Reader, prefix string) (secret string, hash []byte, err error) {
	b := make([]byte, secretLen)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", nil, fmt.Errorf("auth: reading randomness: %w", err)
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret), nil
}

// NewID returns a short random public identifier, such as a token's ID.
func NewID(rand io.Reader, prefix string) (string, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("auth: reading randomness: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

// HashSecret returns the hash the server stores for a secret.
func HashSecret(secret string) []byte {
	h := sha256.New()
	h.Write([]byte(secretHashLabel))
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// WellFormed reports whether s looks like a secret with the given prefix,
// so obviously wrong values are refused without a database lookup.
func WellFormed(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(secretLen) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}

// CSRFToken returns the CSRF token bound to a session secret.
func CSRFToken(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte(csrfLabel))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports whether got is the CSRF token of session.
func CheckCSRF(session, got string) bool {
	return got != "" && hmac.Equal([]byte(CSRFToken(session)), []byte(got))
}
