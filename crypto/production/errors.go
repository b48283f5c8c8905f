package production

import "trustforge/internal/usererr"

// Errors callers branch on. Errors the package returns wrap one of them,
// and, for signatures and payloads, crypto/bundle's error too.
var (
	// ErrNotPackage reports bytes that do not start with the .tfp magic.
	ErrNotPackage = usererr.New("production", "not a trustforge production package")
	// ErrUnsupported reports a container version or format this package
	// does not read.
	ErrUnsupported = usererr.New("production", "unsupported")
	// ErrMalformed reports a header, manifest, ticket or contents that do
	// not decode, are not in their one encoding, or hold an invalid field.
	ErrMalformed = usererr.New("production", "malformed")
	// ErrModified reports a package or ticket changed since it was signed:
	// a signature that does not verify, or a payload or contents that do
	// not match the manifest.
	ErrModified = usererr.New("production", "modified")
	// ErrUntrusted reports a package or ticket signed by a key the reader
	// does not trust.
	ErrUntrusted = usererr.New("production", "signed by an untrusted key")
	// ErrNotForYou reports that none of the identities given opens the
	// package: it is encrypted to other stations.
	ErrNotForYou = usererr.New("production", "none of these identities opens the package")
	// ErrExpired reports a package or ticket used outside its validity.
	ErrExpired = usererr.New("production", "expired")
	// ErrWrongTicket reports a ticket for another package or device.
	ErrWrongTicket = usererr.New("production", "the ticket is for another package or device")
)
