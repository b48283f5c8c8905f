package production

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic starts every .tfp file. Like a .tfb's, it has a high-bit byte and
// a CR LF, so transfers that mangle binary or line endings break it
// visibly.
const Magic = "\x89TFP\r\n\x1a\n"

// ContainerVersion is the .tfp layout version this package writes and
// reads.
const ContainerVersion = 1

// HeaderSize is the size of a .tfp's fixed header: magic, version and the
// signed manifest's length.
const HeaderSize = len(Magic) + 2 + 4

// WriteHeader writes the start of a .tfp: the fixed header and the signed
// manifest. The payload, exactly the manifest's Payload.Size bytes,
// follows it to the end of the file.
//
// Layout (integers big-endian):
//
//	offset 0   8 bytes  Magic
//	offset 8   2 bytes  ContainerVersion
//	offset 10  4 bytes  N, the signed manifest's length (1 to MaxManifestSize)
//	offset 14  N bytes  signed manifest (COSE_Sign1)
//	offset 14+N         payload (an age file), exactly the manifest's payload size
func WriteHeader(w io.Writer, s *Signed) error {
	raw := s.Bytes()
	var hdr [HeaderSize]byte
	copy(hdr[:], Magic)
	binary.BigEndian.PutUint16(hdr[8:], ContainerVersion)
	binary.BigEndian.PutUint32(hdr[10:], uint32(len(raw)))
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("production: write header: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("production: write manifest: %w", err)
	}
	return nil
}

// ReadHeader reads a .tfp's fixed header and signed manifest from r,
// without verifying the signature, and leaves r at the first byte of the
// payload: the release server reads an upload's header, verifies it, then
// streams the payload through a bundle.PayloadVerifier.
func ReadHeader(r io.Reader) (*Signed, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, readErr("header", err)
	}
	if string(hdr[:len(Magic)]) != Magic {
		return nil, fmt.Errorf("%w: bad magic % x", ErrNotPackage, hdr[:len(Magic)])
	}
	if v := binary.BigEndian.Uint16(hdr[8:]); v != ContainerVersion {
		return nil, fmt.Errorf("%w: container version %d (want %d)", ErrUnsupported, v, ContainerVersion)
	}
	n := binary.BigEndian.Uint32(hdr[10:])
	if n == 0 || n > MaxManifestSize {
		return nil, fmt.Errorf("%w: signed manifest of %d bytes (1 to %d)", ErrMalformed, n, MaxManifestSize)
	}
	raw, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, readErr("signed manifest", err)
	}
	if len(raw) < int(n) {
		return nil, readErr("signed manifest", io.ErrUnexpectedEOF)
	}
	return ParseSigned(raw)
}

func readErr(part string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the file ends inside the %s", ErrMalformed, part)
	}
	return fmt.Errorf("production: read %s: %w", part, err)
}
