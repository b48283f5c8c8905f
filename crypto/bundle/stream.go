package bundle

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"

	"trustforge/internal/usererr"

	"filippo.io/age"
)

// EncryptStream encrypts everything read from src to the recipients and
// writes the age file to dst, a chunk at a time. It returns the age file's
// size and SHA-256, which a signed document binds (as a manifest's
// Payload does), and the recipients as a manifest lists them. [Seal] is
// EncryptStream for MCUboot images; other documents trustforge encrypts
// (production packages) use it directly.
func EncryptStream(ctx context.Context, dst io.Writer, src io.Reader, to Recipients) (info PayloadInfo, recipients []string, passphrase bool, err error) {
	list, names, passphrase, err := to.ageRecipients()
	if err != nil {
		return PayloadInfo{}, nil, false, err
	}
	ph := &hashingWriter{w: dst, h: sha256.New()}
	aw, err := age.Encrypt(ph, list...)
	if err != nil {
		return PayloadInfo{}, nil, false, usererr.Errorf("bundle", "encrypt: %w", err)
	}
	if err := copyChunks(ctx, aw, src); err != nil {
		var we *writeError
		if errors.As(err, &we) {
			return PayloadInfo{}, nil, false, usererr.Errorf("bundle", "encrypt: %w", we.err)
		}
		if ctx.Err() != nil {
			return PayloadInfo{}, nil, false, err
		}
		return PayloadInfo{}, nil, false, usererr.Errorf("bundle", "read plaintext: %w", err)
	}
	if err := aw.Close(); err != nil {
		return PayloadInfo{}, nil, false, usererr.Errorf("bundle", "encrypt: %w", err)
	}
	info = PayloadInfo{Size: ph.n}
	ph.h.Sum(info.SHA256[:0])
	if names == nil {
		names = []string{}
	}
	return info, names, passphrase, nil
}

// NewPayloadCheck returns a verifier for a payload of the given size and
// SHA-256: NewPayloadVerifier for payloads that are not a release's.
func NewPayloadCheck(want PayloadInfo) *PayloadVerifier {
	return &PayloadVerifier{want: want, h: sha256.New()}
}

// DecryptStream checks an age payload against want (its size and SHA-256,
// as a signed document records them) while it decrypts it with the first
// of ids that opens it, and writes the plaintext to dst. dst receives
// plaintext before the last check: it is unverified until DecryptStream
// returns nil.
//
// Errors wrap ErrPayloadMismatch for a payload other than want (checked
// first, whatever else fails), ErrNoIdentity when no identity opens it and
// ErrDecrypt when an intact payload fails to decrypt.
func DecryptStream(ctx context.Context, dst io.Writer, payload io.Reader, want PayloadInfo, ids ...age.Identity) error {
	if len(ids) == 0 {
		return usererr.Errorf("", "%w: no identity given", ErrNoIdentity)
	}
	pv := NewPayloadCheck(want)
	src := io.TeeReader(payload, pv)
	ar, err := age.Decrypt(src, ids...)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			err = usererr.Errorf("", "%w: %w", ErrNoIdentity, err)
		} else {
			err = usererr.Errorf("", "%w: %w", ErrDecrypt, err)
		}
		return payloadFailure(ctx, src, pv, err)
	}
	if err := copyChunks(ctx, dst, ar); err != nil {
		var we *writeError
		switch {
		case ctx.Err() != nil:
			return err
		case errors.As(err, &we):
			return usererr.Errorf("bundle", "write plaintext: %w", we.err)
		}
		return payloadFailure(ctx, src, pv, usererr.Errorf("", "%w: %w", ErrDecrypt, err))
	}
	if err := copyChunks(ctx, io.Discard, src); err != nil {
		return payloadFailure(ctx, src, pv, usererr.Errorf("bundle", "read payload: %w", err))
	}
	return pv.Check()
}
