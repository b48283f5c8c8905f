// Package certs provides the TLS certificates trustforge serve speaks
// HTTPS with: a certificate and key from files, reloaded when they change
// or on demand (SIGHUP), without dropping connections; certificates from
// an ACME CA (Let's Encrypt, or a private one such as step-ca) through
// golang.org/x/crypto/acme/autocert, cached in the data directory; and a
// small local CA for benches and production lines with no public DNS name.
//
// Security properties:
//
//   - Private keys are written owner-only (0600) in directories only the
//     owner may enter (0700).
//   - A local CA is name-constrained to the names and addresses it was
//     made for, so a browser or OS that trusts it cannot be made to accept
//     a certificate it issued for any other site.
//   - A file pair that fails to load (a half-written renewal, a key that
//     does not match) never replaces the pair in use.
package certs
