package guide

import (
	"strings"

	"trustforge/internal/apiwire"
	"trustforge/wasm/state"
)

// RoleTitle names a role for people: "administrator", "engineer".
func RoleTitle(r state.Role) string {
	switch r {
	case apiwire.RoleAdmin:
		return "administrator"
	case apiwire.RoleEngineer:
		return "engineer"
	case apiwire.RoleTechnician:
		return "technician"
	case apiwire.RoleStation:
		return "production station"
	}
	return string(r)
}

// rolePlural names the holders of a role: "administrators".
func rolePlural(r state.Role) string {
	return RoleTitle(r) + "s"
}

// RolesPhrase names a set of roles: "administrator and engineer".
func RolesPhrase(roles []state.Role) string {
	names := make([]string, 0, len(roles))
	for _, r := range canonical(roles) {
		names = append(names, RoleTitle(r))
	}
	return joinAnd(names)
}

// canonical returns the known roles of rs in the table's order.
func canonical(rs []state.Role) []state.Role {
	var out []state.Role
	for _, r := range apiwire.AllRoles {
		for _, x := range rs {
			if x == r {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// joinAnd joins words as a sentence does: "a", "a and b", "a, b and c".
func joinAnd(words []string) string {
	return joinWith(words, "and")
}

func joinWith(words []string, conj string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// whoMay names the roles that may do perm: "engineers and technicians".
func whoMay(perm state.Permission) string {
	var names []string
	for _, r := range apiwire.AllRoles {
		if state.Allowed(r, perm) {
			names = append(names, rolePlural(r))
		}
	}
	return joinAnd(names)
}

// rolesFor lists the roles that may do perm.
func rolesFor(perm state.Permission) []state.Role {
	var out []state.Role
	for _, r := range apiwire.AllRoles {
		if state.Allowed(r, perm) {
			out = append(out, r)
		}
	}
	return out
}

// AskAdmin names whom to ask for an account, a product or a role:
// "an administrator (ada)", "an administrator (ada or bob)", or "an
// administrator" when their names are not known.
func AskAdmin(admins []string) string {
	if len(admins) == 0 {
		return "an administrator"
	}
	shown := admins
	if len(shown) > 3 {
		shown = shown[:3]
	}
	return "an administrator (" + joinWith(shown, "or") + ")"
}

// Viewer is who looks at a page: the signed-in account's name and roles,
// and the administrators' names (whom to ask).
type Viewer struct {
	// SignedIn is false for nobody signed in; the other fields are then
	// ignored.
	SignedIn bool
	User     string
	Roles    []state.Role
	// Admins names the enabled administrators; nil when unknown.
	Admins []string
}

// Can reports whether the viewer may do perm.
func (v Viewer) Can(perm state.Permission) bool {
	return v.SignedIn && state.AllowedAny(v.Roles, perm)
}

// IsAdmin reports whether the viewer administers the server.
func (v Viewer) IsAdmin() bool { return v.Can(apiwire.PermUsers) }

// NoProduct is the empty state where a product is needed and none exists.
func NoProduct(v Viewer) string {
	if v.Can(apiwire.PermProducts) {
		return "No product yet. Create one on Administration: products are the boards whose firmware you release."
	}
	return "No product yet. Ask " + AskAdmin(v.Admins) + " to create one on Administration."
}

// GetRole says how the viewer gets the roles that may do perm: from an
// administrator, or, for an administrator, on Administration.
func GetRole(v Viewer, perm state.Permission) string {
	roles := rolesFor(perm)
	if len(roles) == 0 {
		return ""
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = RoleTitle(r)
	}
	role := joinWith(names, "or")
	if v.IsAdmin() {
		return "Give your account (or a colleague's) the " + role + " role on Administration."
	}
	if len(roles) == 1 && roles[0] == apiwire.RoleAdmin {
		return "Ask " + AskAdmin(v.Admins) + "."
	}
	return "Ask " + AskAdmin(v.Admins) + " for the " + role + " role, or ask a colleague who has it."
}
