package state

import (
	"context"
	"errors"

	"trustforge/crypto/vault"
	"trustforge/internal/usererr"
	"trustforge/wasm/storage"
)

// VaultState returns where the vault stands.
func (a *App) VaultState() VaultState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.vaultState
}

// VaultError returns why the vault is VaultBroken.
func (a *App) VaultError() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.vaultErr
}

// Vault returns the vault, or ErrLocked-wrapping errors when there is no
// usable one. The vault's own methods refuse private-key work while it is
// locked.
func (a *App) Vault() (*vault.Vault, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.vaultState {
	case VaultUnlocked, VaultLocked:
		return a.vault, nil
	case VaultNone:
		return nil, vault.ErrNoVault
	case VaultBroken:
		return nil, a.vaultErr
	}
	return nil, usererr.New("state", "the vault is still loading")
}

// UnlockedVault returns the vault if it is unlocked, and records activity.
func (a *App) UnlockedVault() (*vault.Vault, error) {
	v, err := a.Vault()
	if err != nil {
		return nil, err
	}
	if v.Locked() {
		return nil, vault.ErrLocked
	}
	a.Touch()
	return v, nil
}

func (a *App) setVault(v *vault.Vault, st VaultState, err error) {
	a.mu.Lock()
	a.vault, a.vaultState, a.vaultErr = v, st, err
	if st == VaultUnlocked {
		a.lastActive = a.cfg.Now()
	}
	a.mu.Unlock()
	a.notify()
}

// LoadVault opens this browser's vault store and finds whether it holds a
// vault. It is idempotent: once loaded, it does nothing.
func (a *App) LoadVault(ctx context.Context) error {
	a.mu.Lock()
	if a.vaultState != VaultLoading && a.vaultState != VaultBroken {
		a.mu.Unlock()
		return nil
	}
	a.mu.Unlock()
	st, err := a.openStore(ctx)
	if err != nil {
		a.setVault(nil, VaultBroken, err)
		return err
	}
	v, err := vault.Open(ctx, st, a.cfg.Vault)
	switch {
	case errors.Is(err, vault.ErrNoVault):
		a.setVault(nil, VaultNone, nil)
		return nil
	case err != nil:
		a.setVault(nil, VaultBroken, err)
		return err
	}
	a.setVault(v, VaultLocked, nil)
	return nil
}

func (a *App) openStore(ctx context.Context) (vault.Store, error) {
	a.mu.Lock()
	st := a.store
	a.mu.Unlock()
	if st != nil {
		return st, nil
	}
	if a.cfg.OpenStore == nil {
		st = &storage.Memory{}
	} else {
		var err error
		if st, err = a.cfg.OpenStore(ctx); err != nil {
			return nil, err
		}
	}
	a.mu.Lock()
	a.store = st
	a.mu.Unlock()
	return st, nil
}

// CreateVault makes this browser's vault, sealed with passphrase, and
// leaves it unlocked.
func (a *App) CreateVault(ctx context.Context, passphrase string) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	v, err := vault.Create(ctx, st, passphrase, a.cfg.Vault)
	if err != nil {
		return err
	}
	a.setVault(v, VaultUnlocked, nil)
	return nil
}

// UnlockVault unlocks the vault with passphrase. A wrong passphrase
// returns vault.ErrWrongPassphrase and leaves it locked.
func (a *App) UnlockVault(ctx context.Context, passphrase string) error {
	v, err := a.Vault()
	if err != nil {
		return err
	}
	if err := v.Unlock(ctx, passphrase); err != nil {
		return err
	}
	a.setVault(v, VaultUnlocked, nil)
	return nil
}

// LockVault locks the vault.
func (a *App) LockVault() {
	a.mu.Lock()
	v, st := a.vault, a.vaultState
	a.mu.Unlock()
	if v == nil || st != VaultUnlocked {
		return
	}
	v.Lock()
	a.setVault(v, VaultLocked, nil)
}

// VaultChanged tells subscribers the vault's keys changed (a key was
// generated, imported, restored or deleted).
func (a *App) VaultChanged() {
	a.Touch()
	a.notify()
}
