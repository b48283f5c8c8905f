package vault

import "errors"

// Errors a caller can branch on. Errors returned by the package wrap them.
var (
	// ErrNoVault: the store holds no vault yet; Create one.
	ErrNoVault = errors.New("vault: no vault in this browser yet")
	// ErrExists: a vault, or a key with the same public half, is already
	// there. Nothing was overwritten.
	ErrExists = errors.New("vault: already exists")
	// ErrLocked: the operation needs the vault unlocked.
	ErrLocked = errors.New("vault: locked")
	// ErrWrongPassphrase: the passphrase does not open the vault or backup.
	ErrWrongPassphrase = errors.New("vault: wrong passphrase")
	// ErrWeakPassphrase: the passphrase is shorter than MinPassphraseLen.
	ErrWeakPassphrase = errors.New("vault: passphrase too short")
	// ErrCorrupt: a record or backup is damaged or has been tampered with.
	ErrCorrupt = errors.New("vault: damaged data")
	// ErrNotFound: no key with that ID.
	ErrNotFound = errors.New("vault: no such key")
	// ErrWrongKind: the key cannot be used that way (signing with an
	// encryption key, importing a public key as a private one, ...).
	ErrWrongKind = errors.New("vault: wrong kind of key")
)
