package guide

import (
	"trustforge/internal/apiwire"
	"trustforge/wasm/state"
)

// ToggleRole returns a copy of roles with r added (on) or removed (off).
// A role already held is not added twice; the others keep their order.
func ToggleRole(roles []state.Role, r state.Role, on bool) []state.Role {
	out := make([]state.Role, 0, len(roles)+1)
	held := false
	for _, x := range roles {
		held = held || x == r
		if x != r || on {
			out = append(out, x)
		}
	}
	if on && !held {
		out = append(out, r)
	}
	return out
}

// NewAccountRoles says why the roles ticked for a new account cannot be
// given to it, or "" when they can: it needs at least one role the
// console knows.
func NewAccountRoles(roles []state.Role) string {
	if len(canonical(roles)) == 0 {
		return "Tick at least one role."
	}
	return ""
}

// AccountRoles says why account name cannot be left with roles, or ""
// when it can: an account keeps at least one role (to shut one out,
// disable it).
func AccountRoles(name string, roles []state.Role) string {
	if len(canonical(roles)) == 0 {
		return name + " needs at least one role; disable the account instead."
	}
	return ""
}

// roleDuty says what a role's holders do, for the accounts page; "" for
// a role without words.
func roleDuty(r state.Role) string {
	switch r {
	case apiwire.RoleAdmin:
		return "manage accounts and products"
	case apiwire.RoleEngineer:
		return "publish firmware and register signing keys"
	case apiwire.RoleTechnician:
		return "flash published releases"
	case apiwire.RoleStation:
		return "program boards with API tokens"
	}
	return ""
}

// RolesHint explains the roles where accounts are given them.
func RolesHint() string {
	s := "Each account holds one or more roles: "
	for i, r := range apiwire.AllRoles {
		if i > 0 {
			s += "; "
		}
		s += rolePlural(r) + " " + roleDuty(r)
	}
	return s + ". Give one person several roles on a small team; keep them apart where duties must be separate."
}
