package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"trustforge/internal/usererr"
)

// MaxLineLen bounds one exported entry, in bytes.
const MaxLineLen = 1 << 20

// Writer writes entries as an export: JSON Lines, one entry per line.
type Writer struct {
	enc *json.Encoder
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{enc: json.NewEncoder(w)} }

// Write writes one entry and its line break.
func (w *Writer) Write(e Entry) error {
	if err := w.enc.Encode(e); err != nil {
		return usererr.Errorf("audit", "writing entry %d: %w", e.Seq, err)
	}
	return nil
}

// Reader reads an export written by Writer. It parses entries; it does not
// verify them (feed them to a Verifier, or use Verify).
type Reader struct {
	s    *bufio.Scanner
	line int
}

// NewReader returns a Reader that reads from r.
func NewReader(r io.Reader) *Reader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), MaxLineLen)
	return &Reader{s: s}
}

// Next returns the next entry, or io.EOF after the last one. Blank lines
// are skipped.
func (r *Reader) Next() (Entry, error) {
	for r.s.Scan() {
		r.line++
		b := bytes.TrimSpace(r.s.Bytes())
		if len(b) == 0 {
			continue
		}
		return parseEntry(b, r.line)
	}
	if err := r.s.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Entry{}, usererr.Errorf("audit", "line %d longer than %d bytes", r.line+1, MaxLineLen)
		}
		return Entry{}, usererr.Errorf("audit", "reading line %d: %w", r.line+1, err)
	}
	return Entry{}, io.EOF
}

func parseEntry(b []byte, line int) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Entry{}, usererr.Errorf("audit", "line %d: %w", line, err)
	}
	if dec.More() {
		return Entry{}, usererr.Errorf("audit", "line %d: trailing data after entry", line)
	}
	if err := e.checkFields(); err != nil {
		return Entry{}, usererr.Errorf("audit", "line %d: %w", line, err)
	}
	return e, nil
}

// Verify reads a whole export from r, verifies its chain from the first
// entry, and returns its head.
func Verify(r io.Reader) (Head, error) {
	var v Verifier
	rd := NewReader(r)
	for {
		e, err := rd.Next()
		if err == io.EOF {
			return v.Head(), nil
		}
		if err != nil {
			return v.Head(), err
		}
		if err := v.Add(e); err != nil {
			return v.Head(), err
		}
	}
}
