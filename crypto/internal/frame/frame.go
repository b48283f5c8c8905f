// Package frame writes and reads the container that release bundles
// (.tfb, crypto/bundle) and production packages (.tfp, crypto/production)
// share:
//
//	offset 0   8 bytes  magic
//	offset 8   2 bytes  container version, big-endian
//	offset 10  4 bytes  N, the signed manifest's length, big-endian
//	offset 14  N bytes  the signed manifest
//	offset 14+N         the payload, to the end
//
// Read reads exactly the header and the manifest, never more, so the
// reader is left at the payload's first byte.
package frame

import (
	"encoding/binary"
	"errors"
	"io"

	"trustforge/internal/usererr"
)

// HeaderSize is the size of the fixed header: magic, version and length.
const HeaderSize = 8 + 2 + 4

// Format is one kind of container, with the errors its package reports.
type Format struct {
	Name    string // the package, for messages: "bundle"
	Magic   string // 8 bytes
	Version uint16
	// MaxManifest bounds the signed manifest's length.
	MaxManifest uint32
	// The sentinels Read wraps: a file of another kind, another container
	// version, an empty manifest, a manifest over MaxManifest, and a file
	// that ends inside the header or the manifest.
	ErrNotFormat, ErrUnsupported, ErrEmpty, ErrTooLarge, ErrTruncated error
}

// Write writes the header and the signed manifest.
func (f *Format) Write(w io.Writer, manifest []byte) error {
	var hdr [HeaderSize]byte
	copy(hdr[:], f.Magic)
	binary.BigEndian.PutUint16(hdr[8:], f.Version)
	binary.BigEndian.PutUint32(hdr[10:], uint32(len(manifest)))
	if _, err := w.Write(hdr[:]); err != nil {
		return usererr.Errorf(f.Name, "write header: %w", err)
	}
	if _, err := w.Write(manifest); err != nil {
		return usererr.Errorf(f.Name, "write manifest: %w", err)
	}
	return nil
}

// Read reads the header and returns the signed manifest's bytes, leaving r
// at the payload.
func (f *Format) Read(r io.Reader) ([]byte, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, f.readErr("header", err)
	}
	if string(hdr[:8]) != f.Magic {
		return nil, usererr.Errorf("", "%w: bad magic % x", f.ErrNotFormat, hdr[:8])
	}
	if v := binary.BigEndian.Uint16(hdr[8:]); v != f.Version {
		return nil, usererr.Errorf("", "%w: container version %d (want %d)", f.ErrUnsupported, v, f.Version)
	}
	n := binary.BigEndian.Uint32(hdr[10:])
	switch {
	case n == 0:
		return nil, usererr.Errorf("", "%w: empty signed manifest", f.ErrEmpty)
	case n > f.MaxManifest:
		return nil, usererr.Errorf("", "%w: signed manifest of %d bytes (at most %d)", f.ErrTooLarge, n, f.MaxManifest)
	}
	// Grow with the data that arrives rather than trusting n up front.
	raw, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, f.readErr("signed manifest", err)
	}
	if len(raw) < int(n) {
		return nil, f.readErr("signed manifest", io.ErrUnexpectedEOF)
	}
	return raw, nil
}

// readErr reports a failed read of a part of the container.
func (f *Format) readErr(part string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return usererr.Errorf("", "%w: the file ends inside the %s", f.ErrTruncated, part)
	}
	return usererr.Errorf(f.Name, "read %s: %w", part, err)
}
