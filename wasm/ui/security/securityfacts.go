package security

import (
	"context"
	"errors"
	"strings"

	"trustforge/crypto/pki"
	"trustforge/internal/stride"
	"trustforge/wasm/state"
)

// securityFacts gathers a product's security facts: the server's summary
// (when the role may read it) and the provisioning profile of this
// browser's device CA (when it holds one for the product). It returns the
// facts it could gather, with the server's error apart: a plan with
// unknown server facts is still a plan.
func securityFacts(ctx context.Context, st *state.App, product string) (f stride.Facts, serverErr error) {
	f.Product = product
	f.Server, serverErr = st.API.Summary(ctx, product)
	if a, err := st.Authority(ctx); err == nil {
		if p, err := a.Profile(ctx, product); err == nil {
			f.Profile = profileFacts(p)
		} else if !errors.Is(err, pki.ErrNotFound) {
			serverErr = errors.Join(serverErr, err)
		}
	}
	return f, serverErr
}

// profileFacts is what the plan needs of a provisioning profile.
func profileFacts(p pki.Profile) *stride.ProfileFacts {
	return &stride.ProfileFacts{BootKeyHash: strings.ToLower(p.BootKeyHash), EncryptImages: p.EncryptImages,
		LeaveUnlocked: p.LeaveUnlocked, CRLURL: p.Template.CRLURL, Source: "console"}
}
