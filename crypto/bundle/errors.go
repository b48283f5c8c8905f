package bundle

import "trustforge/internal/usererr"

// Errors a caller may branch on. Every error the package returns for bad
// input wraps exactly one of them, and its message says which part of the
// bundle was wrong.
var (
	// ErrNotBundle reports bytes that do not start with the .tfb magic.
	ErrNotBundle = usererr.New("bundle", "not a trustforge bundle")
	// ErrUnsupported reports a container version, manifest format or
	// signature algorithm this package does not implement.
	ErrUnsupported = usererr.New("bundle", "unsupported")
	// ErrTruncated reports a container that ends inside its header or signed
	// manifest.
	ErrTruncated = usererr.New("bundle", "truncated")
	// ErrTooLarge reports a signed manifest over MaxSignedSize.
	ErrTooLarge = usererr.New("bundle", "too large")
	// ErrMalformed reports a signed manifest or manifest that does not decode,
	// is not in its one canonical encoding, or holds an invalid field.
	ErrMalformed = usererr.New("bundle", "malformed")
	// ErrUntrustedKey reports a manifest signed by a key that is not among the
	// trusted keys.
	ErrUntrustedKey = usererr.New("bundle", "signed by an untrusted key")
	// ErrBadSignature reports a signature that does not verify.
	ErrBadSignature = usererr.New("bundle", "bad signature")
	// ErrPayloadMismatch reports a payload whose size or SHA-256 differs from
	// the manifest's: it was altered, truncated or extended.
	ErrPayloadMismatch = usererr.New("bundle", "payload does not match the manifest")
	// ErrNoIdentity reports that none of the given age identities or
	// passphrases opens the payload.
	ErrNoIdentity = usererr.New("bundle", "no identity opens the payload")
	// ErrDecrypt reports an intact payload that still fails to decrypt.
	ErrDecrypt = usererr.New("bundle", "payload does not decrypt")
	// ErrNotImage reports plaintext that is not a well-formed MCUboot image.
	ErrNotImage = usererr.New("bundle", "not an MCUboot image")
	// ErrImageMismatch reports an image whose size or SHA256 TLV differs from
	// the manifest's.
	ErrImageMismatch = usererr.New("bundle", "image does not match the manifest")
)
