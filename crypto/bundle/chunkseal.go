package bundle

import (
	"crypto/hkdf"
	"crypto/sha256"
	"io"
	"slices"

	"filippo.io/age"

	"trustforge/crypto/engine"
	"trustforge/internal/usererr"
)

// ageEncrypt begins an age file to dst for the recipients, as age.Encrypt
// does. When eng is a ChunkSealer, the returned writer has eng seal the
// payload's chunks (in the browser: off the page's thread) and writes the
// bytes age's own writer would: age writes the header and the nonce, the
// file key is seen as age hands it to the recipients to wrap, and the
// payload key is derived from both as age derives it
// (HKDF-SHA-256(file key, salt nonce, "payload")). With kept (which is
// then dst too), the chunks are sealed into kept by its engine. Otherwise
// it is age's writer.
func ageEncrypt(dst io.Writer, eng engine.Engine, kept engine.KeptPayload, list ...age.Recipient) (io.WriteCloser, error) {
	sealer, ok := eng.(engine.ChunkSealer)
	if (!ok && kept == nil) || len(list) == 0 {
		return age.Encrypt(dst, list...)
	}
	var fileKey []byte
	seen := make([]age.Recipient, len(list))
	for i, r := range list {
		seen[i] = &keyWitness{r: r, key: &fileKey}
	}
	rec := &lastWrite{w: dst}
	aw, err := age.Encrypt(rec, seen...)
	if err != nil {
		return nil, err
	}
	if len(fileKey) != 16 || len(rec.last) != 16 {
		// Not the age this was written against: its own writer, then.
		return aw, nil
	}
	key, err := hkdf.Key(sha256.New, fileKey, rec.last, "payload", 32)
	if err != nil {
		return nil, err
	}
	clear(fileKey)
	return &chunkWriter{dst: dst, s: sealer, kept: kept, key: key}, nil
}

// keyWitness wraps the file key for r, and keeps a copy of it.
type keyWitness struct {
	r   age.Recipient
	key *[]byte
}

func (k *keyWitness) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	*k.key = slices.Clone(fileKey)
	return k.r.Wrap(fileKey)
}

// WrapWithLabels keeps r's labels (hybrid and passphrase recipients have
// them, and age refuses to mix them with others).
func (k *keyWitness) WrapWithLabels(fileKey []byte) ([]*age.Stanza, []string, error) {
	*k.key = slices.Clone(fileKey)
	if rl, ok := k.r.(age.RecipientWithLabels); ok {
		return rl.WrapWithLabels(fileKey)
	}
	s, err := k.r.Wrap(fileKey)
	return s, nil, err
}

// lastWrite passes writes on and keeps a copy of the last one: age.Encrypt
// writes the header, then the payload nonce.
type lastWrite struct {
	w    io.Writer
	last []byte
}

func (l *lastWrite) Write(p []byte) (int, error) {
	l.last = append(l.last[:0], p...)
	return l.w.Write(p)
}

// sealBatch is how much plaintext goes to the sealer at a time, and
// sealAhead how many batches may be in its hands at once: the next batches
// are read while the sealer works (in the browser, in several workers).
const (
	sealBatch = 16 * engine.ChunkSize
	sealAhead = 4
)

// chunkWriter is age's payload STREAM, sealed by an engine.
type chunkWriter struct {
	dst     io.Writer
	s       engine.ChunkSealer
	kept    engine.KeptPayload // seals into itself, instead of s
	key     []byte
	buf     []byte
	counter uint64
	pending []*sealJob
	free    [][]byte
	out     []byte // the ciphertext buffer, reused
	err     error
	closed  bool
}

// sealJob is a batch in the sealer's hands; its plaintext is kept to seal
// it in Go should the sealer fail.
type sealJob struct {
	plain   []byte
	counter uint64
	last    bool
	wait    func(dst []byte) ([]byte, error)
	sealed  func() error // kept's
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, usererr.New("bundle", "write to a closed payload stream")
	}
	n := len(p)
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = w.buffer()
		}
		k := min(len(p), sealBatch-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		// A full batch goes once more follows: the last chunk is sealed
		// as the last.
		if len(w.buf) == sealBatch && len(p) > 0 {
			if err := w.submit(false); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// buffer returns an empty batch buffer.
func (w *chunkWriter) buffer() []byte {
	if k := len(w.free); k > 0 {
		b := w.free[k-1]
		w.free = w.free[:k-1]
		return b[:0]
	}
	return make([]byte, 0, sealBatch)
}

// submit hands the buffered batch to the sealer, and writes out the
// oldest batch once more than sealAhead are pending.
func (w *chunkWriter) submit(last bool) error {
	if w.buf == nil {
		w.buf = w.buffer()
	}
	j := &sealJob{plain: w.buf, counter: w.counter, last: last}
	if w.kept != nil {
		j.sealed = w.kept.StartSealChunks(w.key, j.counter, j.plain, last)
	} else {
		j.wait = w.s.StartSealChunks(w.key, j.counter, j.plain, last)
	}
	w.counter += uint64(len(j.plain) / engine.ChunkSize)
	w.buf = nil
	w.pending = append(w.pending, j)
	for len(w.pending) > sealAhead || (last && len(w.pending) > 0) {
		if err := w.flush(); err != nil {
			w.err = err
			return err
		}
	}
	return nil
}

// flush writes out the oldest pending batch.
func (w *chunkWriter) flush() error {
	j := w.pending[0]
	w.pending = w.pending[1:]
	if j.sealed != nil {
		// Sealed into the kept payload, in order; a batch it failed
		// cannot be put in place from here.
		if err := j.sealed(); err != nil {
			return usererr.Errorf("bundle", "encrypt: %w", err)
		}
		w.free = append(w.free, j.plain)
		return nil
	}
	out, err := j.wait(w.out[:0])
	if err == nil && len(out) != engine.SealedSize(len(j.plain), j.last) {
		err = usererr.Errorf("", "%d bytes sealed for %d", len(out), len(j.plain))
	}
	if err != nil {
		// The same bytes from Go.
		if out, err = engine.SealChunks(w.out[:0], w.key, j.counter, j.plain, j.last); err != nil {
			return usererr.Errorf("bundle", "encrypt: %w", err)
		}
	}
	w.free = append(w.free, j.plain)
	w.out = out
	if _, err := w.dst.Write(out); err != nil {
		return err
	}
	return nil
}

// Close seals the last chunk and writes out what is pending. It does not
// close dst.
func (w *chunkWriter) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return usererr.New("bundle", "payload stream closed twice")
	}
	w.closed = true
	err := w.submit(true)
	clear(w.key)
	return err
}
