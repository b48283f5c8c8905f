package provision

import (
	"context"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
)

// Authority certifies the boards Provision provisions: the engineer's
// device CA (a *pki.Authority, its vault unlocked), or a programming
// station's production batch CA (wasm/station), which puts the device's
// production ticket into each certificate.
type Authority interface {
	// Policy returns the CSR policy of profile p for board deviceID that
	// reported key (nil: any key).
	Policy(ctx context.Context, p pki.Profile, deviceID string, key *keys.PublicKey) (pki.CSRPolicy, error)
	// Issue certifies a checked request and returns the chain the board
	// installs.
	Issue(ctx context.Context, p pki.Profile, deviceID string, csr *pki.CSR) (*pki.Provisioned, error)
	// Verify checks a chain read back from the board.
	Verify(ctx context.Context, chain pki.Chain, p pki.Profile, deviceID string, key *keys.PublicKey) error
}

var _ Authority = (*pki.Authority)(nil)
