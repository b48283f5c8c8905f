package pki

import "trustforge/internal/usererr"

// Errors a caller can branch on. Errors returned by the package wrap them.
var (
	// ErrMalformed: bytes that are not a well-formed request, certificate,
	// chain, CRL or record.
	ErrMalformed = usererr.New("pki", "malformed")
	// ErrBadSignature: a request or certificate whose signature does not
	// verify.
	ErrBadSignature = usererr.New("pki", "signature does not verify")
	// ErrKeyType: a key of a type this authority does not certify (device
	// identity keys and CA keys are ECDSA P-256).
	ErrKeyType = usererr.New("pki", "wrong key type")
	// ErrSubject: a request whose subject or subjectAltName is not the one
	// the product's template makes.
	ErrSubject = usererr.New("pki", "subject does not match the template")
	// ErrWrongDevice: a request or certificate for another device id than
	// the board's.
	ErrWrongDevice = usererr.New("pki", "wrong device")
	// ErrKeyMismatch: a request or certificate whose public key is not the
	// key the board reported.
	ErrKeyMismatch = usererr.New("pki", "public key does not match the board's")
	// ErrChain: a certificate chain that does not verify up to the root.
	ErrChain = usererr.New("pki", "chain does not verify")
	// ErrNotFound: no such CA, profile or certificate.
	ErrNotFound = usererr.New("pki", "not found")
	// ErrExists: a CA or profile of that name is already there. Nothing was
	// overwritten.
	ErrExists = usererr.New("pki", "already exists")
	// ErrInvalid: a template, profile or option that cannot be used.
	ErrInvalid = usererr.New("pki", "invalid")
)
