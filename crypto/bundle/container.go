package bundle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic starts every .tfb file. Like PNG's, it has a high-bit byte and a
// CR LF, so transfers that mangle binary or line endings break it visibly.
const Magic = "\x89TFB\r\n\x1a\n"

// ContainerVersion is the .tfb layout version this package writes and reads.
const ContainerVersion = 1

// HeaderSize is the size of a .tfb's fixed header: magic, version and the
// signed manifest's length.
const HeaderSize = len(Magic) + 2 + 4

// WriteHeader writes the start of a .tfb: the fixed header and the signed
// manifest. The payload, exactly s's manifest Payload.Size bytes, follows it
// to the end of the file (see WriteBundle).
//
// Layout (integers big-endian):
//
//	offset 0   8 bytes  Magic
//	offset 8   2 bytes  ContainerVersion
//	offset 10  4 bytes  N, the signed manifest's length (1 to MaxSignedSize)
//	offset 14  N bytes  signed manifest (COSE_Sign1)
//	offset 14+N         payload (an age file) to the end
func WriteHeader(w io.Writer, s *Signed) error {
	var hdr [HeaderSize]byte
	copy(hdr[:], Magic)
	binary.BigEndian.PutUint16(hdr[8:], ContainerVersion)
	binary.BigEndian.PutUint32(hdr[10:], uint32(len(s.raw)))
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("bundle: write header: %w", err)
	}
	if _, err := w.Write(s.raw); err != nil {
		return fmt.Errorf("bundle: write manifest: %w", err)
	}
	return nil
}

// ReadHeader reads a .tfb's fixed header and signed manifest from r and
// parses them (see ParseSigned), without verifying the signature. It reads
// exactly HeaderSize plus the manifest's length, never more, so r is left at
// the first byte of the payload: a server can read the header of an upload,
// verify it, then stream the rest through a PayloadVerifier.
func ReadHeader(r io.Reader) (*Signed, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, readErr("header", err)
	}
	if string(hdr[:len(Magic)]) != Magic {
		return nil, fmt.Errorf("%w: bad magic % x", ErrNotBundle, hdr[:len(Magic)])
	}
	if v := binary.BigEndian.Uint16(hdr[8:]); v != ContainerVersion {
		return nil, fmt.Errorf("%w: container version %d (want %d)", ErrUnsupported, v, ContainerVersion)
	}
	n := binary.BigEndian.Uint32(hdr[10:])
	switch {
	case n == 0:
		return nil, fmt.Errorf("%w: empty signed manifest", ErrMalformed)
	case n > MaxSignedSize:
		return nil, fmt.Errorf("%w: signed manifest of %d bytes (at most %d)", ErrTooLarge, n, MaxSignedSize)
	}
	// Grow with the data that arrives rather than trusting n up front.
	raw, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, readErr("signed manifest", err)
	}
	if len(raw) < int(n) {
		return nil, readErr("signed manifest", io.ErrUnexpectedEOF)
	}
	return ParseSigned(raw)
}

// readErr reports a failed read of a part of the container.
func readErr(part string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: file ends inside the %s", ErrTruncated, part)
	}
	return fmt.Errorf("bundle: read %s: %w", part, err)
}
