package ui

import "trustforge/wasm/state"

// Device registry permissions, as the server's role table has them
// (server/auth: devices, provision, revoke); identityroles_test.go keeps
// them equal.
const (
	permDevices   = "devices"
	permProvision = "provision"
	permRevoke    = "revoke"
	permKeys      = "keys"
)

// registryAllowed reports whether role may make registry requests that
// need perm.
func registryAllowed(role state.Role, perm string) bool {
	switch perm {
	case permDevices:
		return role == state.RoleAdmin || role == state.RoleEngineer || role == state.RoleTechnician || role == state.RoleStation
	case permProvision:
		return role == state.RoleEngineer || role == state.RoleStation
	case permRevoke, permKeys:
		return role == state.RoleAdmin || role == state.RoleEngineer
	}
	return false
}

// canRegistry reports whether the signed-in account may do perm: whether
// any of its roles may.
func canRegistry(a *state.App, perm string) bool {
	s, ok := a.Session()
	if !ok {
		return false
	}
	for _, r := range s.RoleSet() {
		if registryAllowed(state.Role(r), perm) {
			return true
		}
	}
	return false
}
