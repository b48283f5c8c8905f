package espimg

import "trustforge/internal/usererr"

// Errors a caller may branch on. Every error the package returns for bad
// input wraps one of them, and its message says what was wrong and where.
var (
	// ErrNotImage reports bytes that do not start with an image header.
	ErrNotImage = usererr.New("espimg", "not an ESP app image")
	// ErrTruncated reports an image that ends inside a header, a segment,
	// its checksum, its SHA-256 or its signature sector.
	ErrTruncated = usererr.New("espimg", "image truncated")
	// ErrMalformed reports an image whose fields are impossible (too many
	// segments, a segment longer than the image, a bad signature sector).
	ErrMalformed = usererr.New("espimg", "malformed image")
	// ErrChecksum reports an image whose XOR checksum or appended SHA-256
	// does not match its contents.
	ErrChecksum = usererr.New("espimg", "image checksum mismatch")
	// ErrWrongChip reports an image built for another chip or for chip
	// revisions the board does not have.
	ErrWrongChip = usererr.New("espimg", "image is for another chip")
	// ErrUnsigned reports an image with no Secure Boot v2 signature block.
	ErrUnsigned = usererr.New("espimg", "image has no Secure Boot v2 signature")
	// ErrBadSignature reports a signature block that is damaged, does not
	// match the image, or whose signature does not verify.
	ErrBadSignature = usererr.New("espimg", "bad Secure Boot v2 signature")
	// ErrUntrustedKey reports signatures by keys none of which is trusted.
	ErrUntrustedKey = usererr.New("espimg", "signed by an untrusted key")
	// ErrKey reports a key file or key that cannot be used: wrong type,
	// wrong size, damaged PEM.
	ErrKey = usererr.New("espimg", "unusable key")
	// ErrTooManySignatures reports a fourth signature: a signature sector
	// holds at most three blocks.
	ErrTooManySignatures = usererr.New("espimg", "a signature sector holds at most three signatures")
)
