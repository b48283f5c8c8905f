package production

import (
	"io"

	"trustforge/crypto/internal/frame"
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
const HeaderSize = frame.HeaderSize

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
func WriteHeader(w io.Writer, s *Signed) error { return container.Write(w, s.Bytes()) }

// ReadHeader reads a .tfp's fixed header and signed manifest from r,
// without verifying the signature, and leaves r at the first byte of the
// payload: the release server reads an upload's header, verifies it, then
// streams the payload through a bundle.PayloadVerifier.
func ReadHeader(r io.Reader) (*Signed, error) {
	raw, err := container.Read(r)
	if err != nil {
		return nil, err
	}
	return ParseSigned(raw)
}

// container is the .tfp framing (crypto/internal/frame).
var container = &frame.Format{Name: "production", Magic: Magic, Version: ContainerVersion, MaxManifest: MaxManifestSize,
	ErrNotFormat: ErrNotPackage, ErrUnsupported: ErrUnsupported, ErrEmpty: ErrMalformed, ErrTooLarge: ErrMalformed, ErrTruncated: ErrMalformed}
