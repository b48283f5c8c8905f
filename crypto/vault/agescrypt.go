package vault

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"

	"trustforge/internal/usererr"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// This file is age's scrypt recipient type (the "scrypt" stanza of the age
// v1 format), written from the format's specification on top of the
// yielding scryptKey: age's own ScryptRecipient and ScryptIdentity compute
// scrypt in one go. Files are byte-compatible either way: age opens what
// these seal and the other way round.

// scryptLabel is the format's domain separation, prefixed to the salt.
const scryptLabel = "age-encryption.org/v1/scrypt"

const (
	scryptSaltSize = 16
	fileKeySize    = 16
)

// scryptRecipient seals an age file key to a passphrase.
type scryptRecipient struct {
	ctx        context.Context
	passphrase string
	workFactor int
	yield      func(context.Context) error
}

// Wrap implements age.Recipient.
func (r *scryptRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	salt := make([]byte, scryptSaltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	key, err := scryptKey(r.ctx, []byte(r.passphrase), append([]byte(scryptLabel), salt...), r.workFactor, 8, 1,
		chacha20poly1305.KeySize, r.yield)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	body := aead.Seal(nil, make([]byte, chacha20poly1305.NonceSize), fileKey, nil)
	return []*age.Stanza{{
		Type: "scrypt",
		Args: []string{base64.RawStdEncoding.EncodeToString(salt), strconv.Itoa(r.workFactor)},
		Body: body,
	}}, nil
}

// scryptIdentity opens an age file sealed to a passphrase.
type scryptIdentity struct {
	ctx           context.Context
	passphrase    string
	maxWorkFactor int
	yield         func(context.Context) error
}

// Unwrap implements age.Identity. A scrypt stanza must be the file's only
// one; a wrong passphrase gives age.ErrIncorrectIdentity.
func (id *scryptIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	var s *age.Stanza
	for _, st := range stanzas {
		if st.Type == "scrypt" {
			s = st
		}
	}
	if s == nil {
		return nil, age.ErrIncorrectIdentity
	}
	if len(stanzas) != 1 {
		return nil, errors.New("an scrypt stanza must be alone in the file")
	}
	if len(s.Args) != 2 {
		return nil, errors.New("invalid scrypt stanza: want a salt and a work factor")
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(s.Args[0])
	if err != nil || len(salt) != scryptSaltSize {
		return nil, errors.New("invalid scrypt stanza: the salt is not 16 bytes of base64")
	}
	wf, err := strconv.Atoi(s.Args[1])
	if err != nil || strconv.Itoa(wf) != s.Args[1] || wf <= 0 {
		return nil, usererr.Errorf("", "invalid scrypt stanza: work factor %q", s.Args[1])
	}
	if wf > id.maxWorkFactor {
		return nil, usererr.Errorf("", "scrypt work factor %d is above the limit of %d", wf, id.maxWorkFactor)
	}
	if len(s.Body) != fileKeySize+chacha20poly1305.Overhead {
		return nil, errors.New("invalid scrypt stanza: the wrapped key has the wrong size")
	}
	key, err := scryptKey(id.ctx, []byte(id.passphrase), append([]byte(scryptLabel), salt...), wf, 8, 1,
		chacha20poly1305.KeySize, id.yield)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	fileKey, err := aead.Open(nil, make([]byte, chacha20poly1305.NonceSize), s.Body, nil)
	if err != nil {
		return nil, age.ErrIncorrectIdentity
	}
	return fileKey, nil
}
