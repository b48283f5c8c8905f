package bundle

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"hash"
	"io"

	"trustforge/internal/usererr"
)

// PayloadVerifier checks a payload against its manifest as it streams by:
// it counts and hashes what is written to it, refuses a byte beyond the
// manifest's Payload.Size at once, and Check compares size and SHA-256 at
// the end. It never holds the payload. Use it as the io.Writer side of an
// io.TeeReader or io.MultiWriter, or wrap a reader with NewPayloadReader.
type PayloadVerifier struct {
	want PayloadInfo
	h    hash.Hash
	n    int64
	err  error // sticky: the payload ran past the manifest's size
}

// NewPayloadVerifier returns a verifier for the payload m describes.
func NewPayloadVerifier(m *Manifest) *PayloadVerifier {
	return &PayloadVerifier{want: m.Payload, h: sha256.New()}
}

// Write hashes p. It fails with ErrPayloadMismatch, consuming nothing, if p
// would take the payload past the manifest's size.
func (v *PayloadVerifier) Write(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if int64(len(p)) > v.want.Size-v.n {
		v.err = usererr.Errorf("", "%w: payload is longer than the manifest's %d bytes (extended)", ErrPayloadMismatch, v.want.Size)
		return 0, v.err
	}
	if v.h != nil {
		v.h.Write(p)
	}
	v.n += int64(len(p))
	return len(p), nil
}

// Written returns how many payload bytes have been written so far.
func (v *PayloadVerifier) Written() int64 { return v.n }

// Check reports whether the bytes written are exactly the manifest's
// payload: its size and SHA-256. Errors wrap ErrPayloadMismatch.
func (v *PayloadVerifier) Check() error {
	if v.h == nil {
		return errors.New("bundle: this payload verifier takes no digest of its own: use CheckDigest")
	}
	var sum Digest
	v.h.Sum(sum[:0])
	return v.CheckDigest(sum)
}

// CheckDigest is Check with the SHA-256 of the bytes written taken by the
// caller, as they went by (see NewPayloadSizeReader).
func (v *PayloadVerifier) CheckDigest(sum Digest) error {
	if err := v.checkSize(); err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(sum[:], v.want.SHA256[:]) != 1 {
		return usererr.Errorf("", "%w: payload SHA-256 %s, the manifest says %s (altered)", ErrPayloadMismatch, sum, v.want.SHA256)
	}
	return nil
}

// checkSize reports whether exactly the manifest's payload size was
// written.
func (v *PayloadVerifier) checkSize() error {
	if v.err != nil {
		return v.err
	}
	if v.n != v.want.Size {
		return usererr.Errorf("", "%w: payload is %d bytes, the manifest says %d (truncated)", ErrPayloadMismatch, v.n, v.want.Size)
	}
	return nil
}

// PayloadReader reads a payload through a PayloadVerifier: it returns the
// payload's bytes, and at the end of r either io.EOF, when the payload is
// exactly the manifest's, or an error wrapping ErrPayloadMismatch. A reader
// that gives more bytes than the manifest's size fails as soon as it does.
//
// The bytes a PayloadReader has returned are unverified until it returns
// io.EOF: a server storing an upload writes it to a temporary file and
// keeps it only then.
type PayloadReader struct {
	r   io.Reader
	v   *PayloadVerifier
	err error
}

// NewPayloadReader returns a reader of r that verifies it against m.
func NewPayloadReader(r io.Reader, m *Manifest) *PayloadReader {
	return &PayloadReader{r: r, v: NewPayloadVerifier(m)}
}

// NewPayloadSizeReader is NewPayloadReader for a caller that takes the
// payload's SHA-256 itself from the bytes it reads (a content-addressed
// store hashes what it is given anyway): the reader checks the payload's
// size only, as NewPayloadReader's does, and the bytes are unverified
// until the caller's digest has passed Verifier().CheckDigest. The server
// stores an upload so, hashing it once rather than twice.
func NewPayloadSizeReader(r io.Reader, m *Manifest) *PayloadReader {
	return &PayloadReader{r: r, v: &PayloadVerifier{want: m.Payload}}
}

// Read reads from the underlying reader, verifying as it goes.
func (pr *PayloadReader) Read(p []byte) (int, error) {
	if pr.err != nil {
		return 0, pr.err
	}
	// Ask for at most one byte beyond the expected end, to notice extra data.
	if room := pr.v.want.Size - pr.v.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := pr.r.Read(p)
	if _, werr := pr.v.Write(p[:n]); werr != nil {
		pr.err = werr
		return 0, werr
	}
	switch {
	case err == io.EOF:
		check := pr.v.Check
		if pr.v.h == nil {
			check = pr.v.checkSize // the caller checks the digest (NewPayloadSizeReader)
		}
		if cerr := check(); cerr != nil {
			pr.err = cerr
			return n, cerr
		}
		pr.err = io.EOF
	case err != nil:
		pr.err = usererr.Errorf("bundle", "read payload: %w", err)
		return n, pr.err
	}
	return n, err
}

// Verifier returns the PayloadVerifier behind pr, for its Written count.
func (pr *PayloadReader) Verifier() *PayloadVerifier { return pr.v }
