// Package vault keeps an engineer's, technician's or station's private keys
// sealed at rest, as the trustforge console keeps them in the browser's
// IndexedDB: MCUboot signing keys (ECDSA P-256, Ed25519), device image
// encryption keys (X25519) and age identities that open release payloads.
//
// # Layout
//
// A vault is a handful of records in a Store (a small key-value store the
// caller provides: IndexedDB in the browser, memory in tests):
//
//   - "vault": the header. It holds the vault's own age X25519 recipient
//     and, sealed with age's scrypt passphrase recipient, the matching
//     identity (the vault key).
//   - "key/ID": one record per key: its public half in clear (name,
//     algorithm, PEM or age recipient, creation time) and its private half
//     age-encrypted to the vault key. ID is the hex SHA-256 of the key's
//     SubjectPublicKeyInfo DER, which is MCUboot's KEYHASH for a signing
//     key, or of the recipient string for an age identity.
//
// Unlocking runs scrypt once to open the vault key; each private key is
// then unsealed only when it is used, and never stored or returned in
// clear except by Backup.
//
// # Security properties
//
//   - At rest, private keys are protected by the passphrase through scrypt
//     (work factor 2^18 by default) and X25519/ChaCha20-Poly1305 (age).
//     Whoever reads the store learns the public keys and names, not the
//     private keys.
//   - A sealed private key carries its record's ID under the AEAD and is
//     checked against the record's public half when unsealed, so records
//     swapped or edited in the store are refused with ErrCorrupt rather than
//     used.
//   - A wrong passphrase is reported as ErrWrongPassphrase and changes
//     nothing. Import, Restore and Create never overwrite a record: a key
//     that is already present is skipped or refused, and a backup is
//     checked whole before anything is written.
//   - A backup is a plain age file encrypted to a passphrase: `age -d`
//     opens it, and it holds the keys as the PKCS#8 PEM files imgtool
//     writes (and AGE-SECRET-KEY lines), so keys never depend on trustforge.
//
// The package is pure Go (no syscall/js) and runs in the browser under
// GOOS=js GOARCH=wasm as well as natively.
package vault
