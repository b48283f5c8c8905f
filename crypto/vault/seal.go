package vault

import (
	"bytes"
	"context"
	"errors"
	"io"

	"trustforge/internal/usererr"

	"filippo.io/age"
)

// maxWorkFactor is the highest scrypt cost a vault or backup may ask for
// when opened: higher would let a crafted backup stall the browser.
const maxWorkFactor = 22

// maxSealed bounds what is read out of one sealed value.
const maxSealed = 16 << 20

// sealPassphrase encrypts plain to passphrase as age's scrypt recipient
// does, calling yield (when not nil) now and then during scrypt.
func sealPassphrase(ctx context.Context, plain, passphrase string, workFactor int, yield func(context.Context) error) ([]byte, error) {
	if passphrase == "" {
		return nil, usererr.New("vault", "the passphrase is empty")
	}
	if workFactor < 1 || workFactor > maxWorkFactor {
		return nil, usererr.Errorf("vault", "scrypt work factor %d: want 1 to %d", workFactor, maxWorkFactor)
	}
	b, err := seal([]byte(plain), &scryptRecipient{ctx: ctx, passphrase: passphrase, workFactor: workFactor, yield: yield})
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return b, err
}

// sealTo encrypts plain to an age X25519 recipient.
func sealTo(recipient, plain string) ([]byte, error) {
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return nil, usererr.Errorf("", "%w: vault recipient: %v", ErrCorrupt, err)
	}
	return seal([]byte(plain), r)
}

func seal(plain []byte, r age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, usererr.Errorf("vault", "encrypt: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, usererr.Errorf("vault", "encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, usererr.Errorf("vault", "encrypt: %w", err)
	}
	return buf.Bytes(), nil
}

// openPassphrase decrypts an age file sealed to a passphrase. A wrong
// passphrase gives ErrWrongPassphrase; anything that is not an intact
// passphrase-sealed age file gives ErrCorrupt.
// Scrypt runs in the caller's goroutine, calling yield (when not nil) now
// and then; ctx's end stops it with ctx's error.
func openPassphrase(ctx context.Context, sealed []byte, passphrase string, yield func(context.Context) error) ([]byte, error) {
	if !isScryptFile(sealed) {
		return nil, usererr.Errorf("", "%w: not an age file encrypted with a passphrase", ErrCorrupt)
	}
	if passphrase == "" {
		return nil, ErrWrongPassphrase
	}
	id := &scryptIdentity{ctx: ctx, passphrase: passphrase, maxWorkFactor: maxWorkFactor, yield: yield}
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, ErrWrongPassphrase
		}
		return nil, usererr.Errorf("", "%w: %v", ErrCorrupt, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxSealed+1))
	if err != nil {
		return nil, usererr.Errorf("", "%w: %v", ErrCorrupt, err)
	}
	if len(plain) > maxSealed {
		return nil, usererr.Errorf("", "%w: more than %d bytes sealed", ErrCorrupt, maxSealed)
	}
	return plain, nil
}

// isScryptFile reports whether b starts like an age file whose only
// recipient stanza is scrypt: "age-encryption.org/v1\n-> scrypt ".
func isScryptFile(b []byte) bool {
	const intro = "age-encryption.org/v1\n-> scrypt "
	return bytes.HasPrefix(b, []byte(intro))
}
