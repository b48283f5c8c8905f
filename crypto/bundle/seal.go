package bundle

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"

	"filippo.io/age"

	"trustforge/crypto/engine"
)

// chunkSize is how much of a stream is handled at a time; age encrypts in
// chunks of the same size.
const chunkSize = 64 << 10

// Seal encrypts an MCUboot image, read from image, to the recipients and
// writes the payload (an age file, which the age command decrypts) to dst,
// holding no more than a few chunks in memory. It records in m what it
// wrote: m.Image (size and SHA256 TLV, read from the stream), m.Payload,
// m.Recipients and m.Passphrase. When m.Image is already set, for example
// from crypto/mcuimg's parse of the same file, the stream must match it.
//
// Seal fails with ErrNotImage if the input is not a well-formed MCUboot image
// whose contents hash to its SHA256 TLV; dst then holds a partial payload to
// discard.
func Seal(ctx context.Context, dst io.Writer, image io.Reader, to Recipients, m *Manifest) error {
	return seal(ctx, dst, image, to, m, nil)
}

// seal is Seal with the image's and the payload's SHA-256 computed by eng.
func seal(ctx context.Context, dst io.Writer, image io.Reader, to Recipients, m *Manifest, eng engine.Engine) error {
	list, names, passphrase, err := to.ageRecipients()
	if err != nil {
		return err
	}
	ph := &hashingWriter{w: dst, h: engine.Or(eng).NewSHA256()}
	aw, err := ageEncrypt(ph, eng, list...)
	if err != nil {
		return fmt.Errorf("bundle: encrypt: %w", err)
	}
	ic := newContentCheck(m, true, eng)
	if err := copyChunks(ctx, io.MultiWriter(ic, aw), image); err != nil {
		var we *writeError
		if errors.As(err, &we) {
			return we.err
		}
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("bundle: read image: %w", err)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("bundle: encrypt: %w", err)
	}
	info, err := ic.result()
	if err != nil {
		return err
	}
	if m.Image != (ImageInfo{}) && m.Image != info {
		return fmt.Errorf("%w: image read while encrypting (%d bytes, SHA256 TLV %s) differs from the one given (%d bytes, %s)",
			ErrImageMismatch, info.Size, info.SHA256, m.Image.Size, m.Image.SHA256)
	}
	m.Image = info
	m.Payload = PayloadInfo{Size: ph.n}
	ph.h.Sum(m.Payload.SHA256[:0])
	if names == nil {
		names = []string{}
	}
	m.Recipients, m.Passphrase = names, passphrase
	return nil
}

// Decrypt decrypts a payload with the first of ids that opens it (age
// X25519 or hybrid identities, or PassphraseIdentity for a passphrase)
// and writes the MCUboot image to dst. It streams, holding no more than a
// few chunks in memory, and checks everything m promises: the payload's size
// and SHA-256, that the plaintext is a well-formed MCUboot image, and its
// size and SHA256 TLV (and, unless the image is encrypted to the device,
// that its contents hash to that TLV).
//
// dst receives plaintext before the last check is done: treat it as
// unverified until Decrypt returns nil, and discard it otherwise (the CLI
// writes to a temporary file and renames it on success).
//
// Errors wrap ErrPayloadMismatch for a payload other than the manifest's
// (checked first: a forged payload is reported as such whatever else fails),
// ErrNoIdentity when no identity opens it, ErrDecrypt when an intact payload
// fails to decrypt, ErrNotImage or ErrImageMismatch for a wrong image.
func Decrypt(ctx context.Context, dst io.Writer, payload io.Reader, m *Manifest, ids ...age.Identity) error {
	return DecryptWith(ctx, dst, payload, m, nil, ids...)
}

// DecryptWith is Decrypt with the payload's and the image's SHA-256
// computed by eng; nil means the Go standard library (engine.Go). The
// browser passes WebCrypto's engine.
func DecryptWith(ctx context.Context, dst io.Writer, payload io.Reader, m *Manifest, eng engine.Engine, ids ...age.Identity) error {
	if len(ids) == 0 {
		return fmt.Errorf("%w: no identity given", ErrNoIdentity)
	}
	pv := &PayloadVerifier{want: m.Payload, h: engine.Or(eng).NewSHA256()}
	src := io.TeeReader(payload, pv)
	ar, err := age.Decrypt(src, ids...)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			err = fmt.Errorf("%w: %v", ErrNoIdentity, err)
		} else {
			err = fmt.Errorf("%w: %v", ErrDecrypt, err)
		}
		return payloadFailure(ctx, src, pv, err)
	}
	ic := newContentCheck(m, false, eng)
	if err := copyChunks(ctx, io.MultiWriter(ic, dst), ar); err != nil {
		var we *writeError
		switch {
		case ctx.Err() != nil:
			return err
		case errors.As(err, &we) && (errors.Is(we.err, ErrNotImage) || errors.Is(we.err, ErrImageMismatch)):
			return payloadFailure(ctx, src, pv, we.err)
		case errors.As(err, &we):
			return fmt.Errorf("bundle: write image: %w", we.err)
		}
		return payloadFailure(ctx, src, pv, fmt.Errorf("%w: %v", ErrDecrypt, err))
	}
	// age stops at its final chunk: anything after it is extra payload.
	if err := copyChunks(ctx, io.Discard, src); err != nil {
		return payloadFailure(ctx, src, pv, fmt.Errorf("bundle: read payload: %w", err))
	}
	if err := pv.Check(); err != nil {
		return err
	}
	return ic.check(m.Image)
}

// payloadFailure reads the rest of the payload to tell a payload other than
// the manifest's (returned as such) from a failure of a genuine one (err).
func payloadFailure(ctx context.Context, src io.Reader, pv *PayloadVerifier, err error) error {
	if derr := copyChunks(ctx, io.Discard, src); derr != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if perr := pv.Check(); perr != nil {
		return perr
	}
	return err
}

// hashingWriter counts and hashes what it passes on to w.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashingWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

// writeError marks an error from the writing side of copyChunks.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// copyChunks copies src to dst a chunk at a time, stopping when ctx is
// done. Errors from dst are wrapped in *writeError; a nil error means src
// reached io.EOF.
func copyChunks(ctx context.Context, dst io.Writer, src io.Reader) error {
	buf := make([]byte, chunkSize)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return &writeError{werr}
			}
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			return rerr
		}
	}
}
