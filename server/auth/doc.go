// Package auth holds the release server's credentials and access rules:
// argon2id password hashes, random session and API-token secrets stored only
// as hashes, CSRF tokens bound to a session, a sign-in rate limiter, and the
// table of what each role may do.
//
// Security properties:
//
//   - Passwords are stored as argon2id hashes with a per-password random
//     salt, in the PHC string format, and compared in constant time.
//   - Session cookies and API tokens are 256-bit random secrets. The server
//     keeps only their SHA-256 under a domain-separation label, so a stolen
//     database does not let anyone sign in.
//   - A CSRF token is an HMAC of the session secret, so it cannot be derived
//     without the cookie, and needs no storage.
//   - Allowed is the only place that decides what a role may do.
package auth
