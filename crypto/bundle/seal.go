package bundle

import (
	"context"
	"errors"
	"hash"
	"io"
	"slices"

	"filippo.io/age"

	"trustforge/crypto/engine"
	"trustforge/internal/usererr"
)

// chunkSize is how much of a stream is handled at a time; age encrypts in
// chunks of the same size.
const chunkSize = 64 << 10

// A Sealer encrypts the content of a release, written into it, to a
// bundle's recipients; [Seal] makes one. It checks the content as it
// streams by and holds no more than what one Write passes it. Once
// [Sealer.Close] returns nil, [Sealer.Manifest] gives the manifest that
// describes what was written.
type Sealer struct {
	m          Manifest // the template, completed by Close
	names      []string
	passphrase bool
	ph         *hashingWriter     // the payload as it is written; nil when kept
	kept       engine.KeptPayload // the payload, made where the engine keeps it
	ctx        context.Context    // for kept's digest
	aw         io.WriteCloser
	ic         contentCheck
	err        error // the first failure; Write and Close return it again
	closed     bool
}

// Seal returns a [Sealer] that encrypts the content written into it to the
// recipients and writes the payload (an age file, which the age command
// decrypts) to dst, as [age.Encrypt] does. m describes the content: an
// MCUboot image, or the parts of a flash set (m.Parts). When m.Image is
// already set, for example from crypto/mcuimg's parse of the same file,
// the content must match it. The caller drives the copy, and checks its
// own context between writes; [Create] is Seal, [Sign] and [WriteBundle]
// driven for a whole .tfb.
//
// Write fails with [ErrNotImage] as soon as the content is known not to be
// a well-formed MCUboot image; Close fails with ErrNotImage if its contents
// do not hash to its SHA256 TLV, or with [ErrImageMismatch] if it differs
// from m.Image. dst then holds a partial payload to discard.
func Seal(dst io.Writer, m Manifest, to Recipients) (*Sealer, error) {
	return newSealer(context.Background(), dst, m, to, nil, false, nil)
}

// newSealer is Seal with the content's and the payload's SHA-256 computed
// by eng; with signed, m.Image is the image its caller has just signed
// from the bytes it writes (see CreateOptions.ImageSigned). With kept the
// payload is made in kept (see CreateKept), and dst is not used.
func newSealer(ctx context.Context, dst io.Writer, m Manifest, to Recipients, eng engine.Engine, signed bool, kept engine.KeptPayload) (*Sealer, error) {
	if signed && (m.Image == ImageInfo{} || m.IsFlashSet()) {
		return nil, usererr.New("bundle", "an image signed by the caller, but no image size and SHA256 TLV for it")
	}
	list, names, passphrase, err := to.ageRecipients()
	if err != nil {
		return nil, err
	}
	s := &Sealer{m: m, names: names, passphrase: passphrase}
	s.m.Parts = slices.Clone(m.Parts) // the flash set's digests are filled in the copy
	s.kept, s.ctx = kept, ctx
	var out io.Writer = kept
	if kept == nil {
		s.ph = &hashingWriter{w: dst, h: engine.Or(eng).NewSHA256()}
		out = s.ph
	}
	if s.aw, err = ageEncrypt(out, eng, kept, list...); err != nil {
		return nil, usererr.Errorf("bundle", "encrypt: %w", err)
	}
	s.ic = newContentCheck(&s.m, true, signed, eng)
	return s, nil
}

// Write checks and encrypts the next piece of the content.
func (s *Sealer) Write(p []byte) (int, error) {
	switch {
	case s.err != nil:
		return 0, s.err
	case s.closed:
		return 0, usererr.New("bundle", "write to a closed Sealer")
	}
	if _, err := s.ic.Write(p); err != nil {
		s.err = err
		return 0, err
	}
	n, err := s.aw.Write(p)
	if err != nil {
		s.err = usererr.Errorf("bundle", "write payload: %w", err)
		return n, s.err
	}
	return n, nil
}

// Close ends the payload and checks the content as a whole. It must be
// called, and return nil, before the payload is used.
func (s *Sealer) Close() error {
	if s.err != nil || s.closed {
		return s.err
	}
	s.closed = true
	if err := s.aw.Close(); err != nil {
		s.err = usererr.Errorf("bundle", "encrypt: %w", err)
		return s.err
	}
	info, err := s.ic.result()
	if err != nil {
		s.err = err
		return err
	}
	if s.m.Image != (ImageInfo{}) && s.m.Image != info {
		s.err = usererr.Errorf("", "%w: image read while encrypting (%d bytes, SHA256 TLV %s) differs from the one given (%d bytes, %s)",
			ErrImageMismatch, info.Size, info.SHA256, s.m.Image.Size, s.m.Image.SHA256)
		return s.err
	}
	s.m.Image = info
	if s.kept != nil {
		sum, err := s.kept.Sum(s.ctx)
		if err == nil && len(sum) != len(s.m.Payload.SHA256) {
			err = usererr.Errorf("", "a payload digest of %d bytes", len(sum))
		}
		if err != nil {
			s.err = usererr.Errorf("bundle", "payload digest: %w", err)
			return s.err
		}
		s.m.Payload = PayloadInfo{Size: s.kept.Len()}
		copy(s.m.Payload.SHA256[:], sum)
	} else {
		s.m.Payload = PayloadInfo{Size: s.ph.n}
		s.ph.h.Sum(s.m.Payload.SHA256[:0])
	}
	if s.names == nil {
		s.names = []string{}
	}
	s.m.Recipients, s.m.Passphrase = s.names, s.passphrase
	return nil
}

// Manifest returns the manifest [Seal] was given, completed with what was
// sealed: Image (size and SHA256 TLV, read from the stream, or a flash
// set's size and digests), Payload, Recipients and Passphrase. It fails
// until [Sealer.Close] has returned nil, with Close's error if it did not.
func (s *Sealer) Manifest() (Manifest, error) {
	switch {
	case s.err != nil:
		return Manifest{}, s.err
	case !s.closed:
		return Manifest{}, usererr.New("bundle", "the Sealer is not closed")
	}
	m := s.m
	m.Parts = slices.Clone(s.m.Parts)
	m.Recipients = slices.Clone(s.m.Recipients)
	return m, nil
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
		return usererr.Errorf("", "%w: no identity given", ErrNoIdentity)
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
			err = usererr.Errorf("", "%w: %w", ErrNoIdentity, err)
		} else {
			err = usererr.Errorf("", "%w: %w", ErrDecrypt, err)
		}
		return payloadFailure(ctx, src, pv, err)
	}
	ic := newContentCheck(m, false, false, eng)
	if err := copyChunks(ctx, io.MultiWriter(ic, dst), ar); err != nil {
		var we *writeError
		switch {
		case ctx.Err() != nil:
			return err
		case errors.As(err, &we) && (errors.Is(we.err, ErrNotImage) || errors.Is(we.err, ErrImageMismatch)):
			return payloadFailure(ctx, src, pv, we.err)
		case errors.As(err, &we):
			return usererr.Errorf("bundle", "write image: %w", we.err)
		}
		return payloadFailure(ctx, src, pv, usererr.Errorf("", "%w: %w", ErrDecrypt, err))
	}
	// age stops at its final chunk: anything after it is extra payload.
	if err := copyChunks(ctx, io.Discard, src); err != nil {
		return payloadFailure(ctx, src, pv, usererr.Errorf("bundle", "read payload: %w", err))
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
			return usererr.Errorf("bundle", "%w", err)
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
