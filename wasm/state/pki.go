package state

import (
	"context"

	"trustforge/crypto/pki"
)

// Authority returns the device CA kept in this browser next to the vault:
// its records in the vault's store, its keys in the vault. Listing works
// while the vault is locked; creating CAs, issuing and revoking need it
// unlocked. It fails like Vault when there is no usable vault.
func (a *App) Authority(ctx context.Context) (*pki.Authority, error) {
	v, err := a.Vault()
	if err != nil {
		return nil, err
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	return pki.New(st, v, pki.Options{Now: a.cfg.Now}), nil
}
