package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// maxWorkFactor is the highest scrypt cost a vault or backup may ask for
// when opened: higher would let a crafted backup stall the browser.
const maxWorkFactor = 22

// maxSealed bounds what is read out of one sealed value.
const maxSealed = 16 << 20

// sealPassphrase encrypts plain to passphrase with age's scrypt recipient.
func sealPassphrase(plain, passphrase string, workFactor int) ([]byte, error) {
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if workFactor < 1 || workFactor > maxWorkFactor {
		return nil, fmt.Errorf("vault: scrypt work factor %d: want 1 to %d", workFactor, maxWorkFactor)
	}
	r.SetWorkFactor(workFactor)
	return seal([]byte(plain), r)
}

// sealTo encrypts plain to an age X25519 recipient.
func sealTo(recipient, plain string) ([]byte, error) {
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return nil, fmt.Errorf("%w: vault recipient: %v", ErrCorrupt, err)
	}
	return seal([]byte(plain), r)
}

func seal(plain []byte, r age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, fmt.Errorf("vault: encrypt: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("vault: encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("vault: encrypt: %w", err)
	}
	return buf.Bytes(), nil
}

// openPassphrase decrypts an age file sealed to a passphrase. A wrong
// passphrase gives ErrWrongPassphrase; anything that is not an intact
// passphrase-sealed age file gives ErrCorrupt.
func openPassphrase(sealed []byte, passphrase string) ([]byte, error) {
	if !isScryptFile(sealed) {
		return nil, fmt.Errorf("%w: not an age file encrypted with a passphrase", ErrCorrupt)
	}
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWrongPassphrase, err)
	}
	id.SetMaxWorkFactor(maxWorkFactor)
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, ErrWrongPassphrase
		}
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxSealed+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if len(plain) > maxSealed {
		return nil, fmt.Errorf("%w: more than %d bytes sealed", ErrCorrupt, maxSealed)
	}
	return plain, nil
}

// isScryptFile reports whether b starts like an age file whose only
// recipient stanza is scrypt: "age-encryption.org/v1\n-> scrypt ".
func isScryptFile(b []byte) bool {
	const intro = "age-encryption.org/v1\n-> scrypt "
	return bytes.HasPrefix(b, []byte(intro))
}
