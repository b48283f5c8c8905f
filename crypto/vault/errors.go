package vault

import "trustforge/internal/usererr"

// Errors a caller can branch on. Errors returned by the package wrap them.
var (
	// ErrNoVault: the store holds no vault yet; Create one.
	ErrNoVault = usererr.New("vault", "no vault in this browser yet")
	// ErrExists: a vault, or a key with the same public half, is already
	// there. Nothing was overwritten.
	ErrExists = usererr.New("vault", "already exists")
	// ErrLocked: the operation needs the vault unlocked.
	ErrLocked = usererr.New("vault", "locked")
	// ErrWrongPassphrase: the passphrase does not open the vault or backup.
	ErrWrongPassphrase = usererr.New("vault", "wrong passphrase")
	// ErrWeakPassphrase: the passphrase is shorter than MinPassphraseLen.
	ErrWeakPassphrase = usererr.New("vault", "passphrase too short")
	// ErrCorrupt: a record or backup is damaged or has been tampered with.
	ErrCorrupt = usererr.New("vault", "damaged data")
	// ErrNotFound: no key with that ID.
	ErrNotFound = usererr.New("vault", "no such key")
	// ErrWrongKind: the key cannot be used that way (signing with an
	// encryption key, importing a public key as a private one, ...).
	ErrWrongKind = usererr.New("vault", "wrong kind of key")
)
