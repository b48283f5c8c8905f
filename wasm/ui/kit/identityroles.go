package kit

import "trustforge/wasm/state"

// CanRegistry reports whether the signed-in account may make device
// registry requests that need perm: the contract's policy, the server's.
func CanRegistry(a *state.App, perm state.Permission) bool {
	s, ok := a.Session()
	return ok && state.AllowedAny(s.RoleSet(), perm)
}
