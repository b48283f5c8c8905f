package bundle

import (
	"io"

	"trustforge/crypto/internal/frame"
)

// Magic starts every .tfb file. Like PNG's, it has a high-bit byte and a
// CR LF, so transfers that mangle binary or line endings break it visibly.
const Magic = "\x89TFB\r\n\x1a\n"

// ContainerVersion is the .tfb layout version this package writes and reads.
const ContainerVersion = 1

// HeaderSize is the size of a .tfb's fixed header: magic, version and the
// signed manifest's length.
const HeaderSize = frame.HeaderSize

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
func WriteHeader(w io.Writer, s *Signed) error { return container.Write(w, s.raw) }

// ReadHeader reads a .tfb's fixed header and signed manifest from r and
// parses them (see ParseSigned), without verifying the signature. It reads
// exactly HeaderSize plus the manifest's length, never more, so r is left at
// the first byte of the payload: a server can read the header of an upload,
// verify it, then stream the rest through a PayloadVerifier.
func ReadHeader(r io.Reader) (*Signed, error) {
	raw, err := container.Read(r)
	if err != nil {
		return nil, err
	}
	return ParseSigned(raw)
}

// container is the .tfb framing (crypto/internal/frame).
var container = &frame.Format{Name: "bundle", Magic: Magic, Version: ContainerVersion, MaxManifest: MaxSignedSize,
	ErrNotFormat: ErrNotBundle, ErrUnsupported: ErrUnsupported, ErrEmpty: ErrMalformed, ErrTooLarge: ErrTooLarge, ErrTruncated: ErrTruncated}
