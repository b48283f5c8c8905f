package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"io"
	"time"

	"trustforge/crypto/engine"
	"trustforge/internal/usererr"
)

// CreateOptions says how Create signs and encrypts a release.
type CreateOptions struct {
	// Key signs the manifest: an ECDSA P-256 or Ed25519 crypto.Signer, such
	// as a key imgtool made. Required.
	Key crypto.Signer
	// To says who can open the payload. Required.
	To Recipients
	// Scratch holds the payload between encrypting it and writing the
	// bundle: the manifest, which comes first in the bundle, records the
	// payload's hash. Create writes the payload at Scratch's current
	// position and reads it back from there. Nil means memory, which then
	// holds the whole payload; pass a temporary file for large images.
	Scratch io.ReadWriteSeeker
	// ScratchInMemory says Scratch is memory that nothing but this call
	// writes (the console's is): the payload is then copied out of it
	// without hashing it a second time. Leave it false for a file: the
	// copy is then checked against the hash taken as it was written.
	// (A nil Scratch is memory of Create's own, and never hashed twice.)
	ScratchInMemory bool
	// ImageSigned says m.Image is the size and SHA256 TLV of the MCUboot
	// image the caller has just made from the very bytes it passes
	// (crypto/mcuimg's SignResult): the image's size and TLV are checked
	// against it without hashing the image's contents a second time.
	// Without it the contents are hashed and must match their TLV.
	ImageSigned bool
	// Rand is the randomness for ECDSA signatures; nil means crypto/rand.
	// (age draws its file keys from crypto/rand itself.)
	Rand io.Reader
	// Now gives the creation time when m.Created is zero; nil means
	// time.Now.
	Now func() time.Time
	// Engine computes the SHA-256 of the image and of the payload; nil
	// means the Go standard library (engine.Go). The bundle's bytes do not
	// depend on it. (age's ChaCha20-Poly1305 is always Go's.)
	Engine engine.Engine
}

// Create makes a complete .tfb and writes it to w: it encrypts the MCUboot
// image read from image (see [Seal]), completes m (Format, Created, Image,
// Payload, Recipients, Passphrase) and signs it (see [Sign]), then writes the
// header, the signed manifest and the payload (see [WriteBundle]). m supplies
// the release's description: Product, Component, Version, SecurityCounter,
// Channel, Hardware, Notes, and optionally Image to check the stream against.
//
// The returned Signed is the bundle's manifest part; s.Verify with the
// signing key's public half returns the complete manifest.
func Create(ctx context.Context, w io.Writer, image io.Reader, m Manifest, opts CreateOptions) (*Signed, error) {
	rnd, err := prepare(&m, opts)
	if err != nil {
		return nil, err
	}

	var scratch io.ReadWriter
	var start int64
	recheck := opts.Scratch != nil && !opts.ScratchInMemory
	if opts.Scratch != nil {
		var err error
		if start, err = opts.Scratch.Seek(0, io.SeekCurrent); err != nil {
			return nil, usererr.Errorf("bundle", "scratch: %w", err)
		}
		scratch = opts.Scratch
	} else {
		scratch = new(bytes.Buffer)
	}
	m, err = seal(ctx, scratch, image, m, opts.To, opts.Engine, opts.ImageSigned, nil)
	if err != nil {
		return nil, err
	}
	s, err := Sign(rnd, &m, opts.Key)
	if err != nil {
		return nil, err
	}
	if opts.Scratch != nil {
		if _, err := opts.Scratch.Seek(start, io.SeekStart); err != nil {
			return nil, usererr.Errorf("bundle", "scratch: %w", err)
		}
	}
	payload := io.LimitReader(scratch, m.Payload.Size)
	if !recheck {
		if err := writePayload(ctx, w, s, payload); err != nil {
			return nil, err
		}
		return s, nil
	}
	if err := writeBundle(ctx, w, s, payload, opts.Engine); err != nil {
		return nil, err
	}
	return s, nil
}

// CreateKept is Create with the payload made in kept, where the engine
// keeps it (see engine.PayloadKeeper): the bundle is [WriteHeader]'s bytes
// for the returned Signed followed by kept's bytes. kept must be new and
// empty; on an error it holds a partial payload to release. opts.Scratch
// is not used.
func CreateKept(ctx context.Context, image io.Reader, m Manifest, kept engine.KeptPayload, opts CreateOptions) (*Signed, error) {
	if kept == nil || kept.Len() != 0 {
		return nil, usererr.New("bundle", "create: the kept payload is missing or not empty")
	}
	rnd, err := prepare(&m, opts)
	if err != nil {
		return nil, err
	}
	m, err = seal(ctx, nil, image, m, opts.To, opts.Engine, opts.ImageSigned, kept)
	if err != nil {
		return nil, err
	}
	return Sign(rnd, &m, opts.Key)
}

// prepare checks opts and completes m's Format and Created for Create,
// and returns the randomness to sign with.
func prepare(m *Manifest, opts CreateOptions) (io.Reader, error) {
	if opts.Key == nil {
		return nil, usererr.New("bundle", "create: no signing key")
	}
	if _, err := algorithmFor(opts.Key.Public()); err != nil {
		return nil, err
	}
	if m.Format == 0 {
		m.Format = ManifestFormat
	}
	if m.Created.IsZero() {
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		m.Created = now().UTC().Truncate(time.Second)
	}
	if err := validateTemplate(*m); err != nil {
		return nil, err
	}
	if opts.Rand == nil {
		return rand.Reader, nil
	}
	return opts.Rand, nil
}

// writePayload writes a .tfb as writeBundle does, from a payload that is
// the one just sealed, in memory: it checks only its length.
func writePayload(ctx context.Context, w io.Writer, s *Signed, payload io.Reader) error {
	if err := WriteHeader(w, s); err != nil {
		return err
	}
	cw := &countingWriter{w: w}
	if err := copyChunks(ctx, cw, payload); err != nil {
		var we *writeError
		if errors.As(err, &we) {
			return usererr.Errorf("bundle", "write payload: %w", we.err)
		}
		return err
	}
	if cw.n != s.manifest.Payload.Size {
		return usererr.Errorf("", "%w: payload is %d bytes, the manifest says %d (truncated)", ErrPayloadMismatch, cw.n, s.manifest.Payload.Size)
	}
	return nil
}

// countingWriter counts what it passes on to w.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// validateTemplate validates the fields of m that the caller provides,
// before the long work of encrypting.
func validateTemplate(m Manifest) error {
	m.Image = ImageInfo{Size: 1}
	if m.IsFlashSet() {
		m.Image.Size = 0
		for _, p := range m.Parts {
			m.Image.Size += p.Size
		}
	}
	m.Payload = PayloadInfo{Size: 1}
	m.Recipients, m.Passphrase = nil, true
	return m.Validate()
}

// seal drives a [Sealer] over the content read from image, a chunk at a
// time, stopping when ctx is done, and returns the completed manifest.
func seal(ctx context.Context, dst io.Writer, image io.Reader, m Manifest, to Recipients, eng engine.Engine, signed bool, kept engine.KeptPayload) (Manifest, error) {
	sl, err := newSealer(ctx, dst, m, to, eng, signed, kept)
	if err != nil {
		return Manifest{}, err
	}
	if err := copyChunks(ctx, sl, image); err != nil {
		var we *writeError
		switch {
		case errors.As(err, &we):
			return Manifest{}, we.err
		case ctx.Err() != nil:
			return Manifest{}, err
		}
		return Manifest{}, usererr.Errorf("bundle", "read image: %w", err)
	}
	if err := sl.Close(); err != nil {
		return Manifest{}, err
	}
	return sl.Manifest()
}

// WriteBundle writes a complete .tfb to w: the header and signed manifest
// (see WriteHeader), then the payload read from payload, which must be
// exactly the one s's manifest describes; it is checked as it is copied, so
// a wrong payload fails with ErrPayloadMismatch (w then holds a partial
// bundle to discard).
func WriteBundle(ctx context.Context, w io.Writer, s *Signed, payload io.Reader) error {
	return writeBundle(ctx, w, s, payload, nil)
}

func writeBundle(ctx context.Context, w io.Writer, s *Signed, payload io.Reader, eng engine.Engine) error {
	if err := WriteHeader(w, s); err != nil {
		return err
	}
	pr := &PayloadReader{r: payload, v: &PayloadVerifier{want: s.manifest.Payload, h: engine.Or(eng).NewSHA256()}}
	if err := copyChunks(ctx, w, pr); err != nil {
		var we *writeError
		if errors.As(err, &we) {
			return usererr.Errorf("bundle", "write payload: %w", we.err)
		}
		return err
	}
	return nil
}
