package guide

import (
	"slices"

	"trustforge/wasm/state"
)

// ToggleRole returns a copy of roles with r added (on) or removed (off).
// A role already held is not added twice; the others keep their order.
func ToggleRole(roles []state.Role, r state.Role, on bool) []state.Role {
	out := slices.Clone(roles)
	if !on {
		return slices.DeleteFunc(out, func(x state.Role) bool { return x == r })
	}
	if !slices.Contains(out, r) {
		out = append(out, r)
	}
	return out
}

// NewAccountRoles says why the roles ticked for a new account cannot be
// given to it, or "" when they can: it needs at least one, and only the
// roles the server knows.
func NewAccountRoles(roles []state.Role) string {
	if why := unknownRole(roles); why != "" {
		return why
	}
	if len(canonical(roles)) == 0 {
		return "Tick at least one role."
	}
	return ""
}

// AccountRoles says why account name cannot be left with roles, or ""
// when it can: an account keeps at least one role (to shut one out,
// disable it), and only the roles the server knows.
func AccountRoles(name string, roles []state.Role) string {
	if why := unknownRole(roles); why != "" {
		return why
	}
	if len(canonical(roles)) == 0 {
		return name + " needs at least one role; disable the account instead."
	}
	return ""
}

func unknownRole(roles []state.Role) string {
	for _, r := range roles {
		if !slices.Contains(state.AllRoles, r) {
			return "There is no role " + string(r) + "."
		}
	}
	return ""
}

// roleDuties says what each role's holders do, for the accounts page.
var roleDuties = map[state.Role]string{
	state.RoleAdmin:      "manage accounts and products",
	state.RoleEngineer:   "publish firmware and register signing keys",
	state.RoleTechnician: "flash published releases",
	state.RoleStation:    "program boards with API tokens",
}

// RolesHint explains the roles where accounts are given them.
func RolesHint() string {
	s := "Each account holds one or more roles: "
	for i, r := range state.AllRoles {
		if i > 0 {
			s += "; "
		}
		s += rolePlural(r) + " " + roleDuties[r]
	}
	return s + ". Give one person several roles on a small team; keep them apart where duties must be separate."
}
