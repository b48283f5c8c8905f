package store

import (
	"fmt"
	"slices"
	"strings"

	"trustforge/internal/apiwire"
)

// Role is one kind of work an account may do on the server: the API
// contract's role (apiwire), stored by name.
type Role = apiwire.Role

// The roles, from most to least privileged in what they change.
const (
	RoleAdmin      = apiwire.RoleAdmin
	RoleEngineer   = apiwire.RoleEngineer
	RoleTechnician = apiwire.RoleTechnician
	RoleStation    = apiwire.RoleStation
)

// AllRoles lists the roles in their canonical order.
var AllRoles = apiwire.AllRoles

// Roles is the set of roles an account holds: the contract's set
// (apiwire.Roles). A Roles built by NewRoles or ParseRoles is in canonical
// order (AllRoles) without repeats, so two equal sets compare equal
// element by element.
//
// The database keeps a set in the users table's role column as its String
// form ("admin,engineer"); a database written before accounts held sets
// has one role there, which reads as a set of one, so it needs no
// conversion.
type Roles = apiwire.Roles

// NewRoles returns the set of rs in canonical order, without repeats.
// Unknown roles are kept, after the known ones, so Valid can refuse them.
func NewRoles(rs ...Role) Roles {
	out := make(Roles, 0, len(rs))
	for _, r := range AllRoles {
		if slices.Contains(rs, r) {
			out = append(out, r)
		}
	}
	for _, r := range rs {
		if !r.Valid() && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// ParseRoles reads a set written by Roles.String: role names separated by
// commas. Spaces around names are ignored.
func ParseRoles(s string) (Roles, error) {
	var rs []Role
	for _, f := range strings.Split(s, ",") {
		r := Role(strings.TrimSpace(f))
		if !r.Valid() {
			return nil, fmt.Errorf("store: %q is not one of admin, engineer, technician, station", r)
		}
		rs = append(rs, r)
	}
	return NewRoles(rs...), nil
}

// readRoles reads the role column. A value no longer valid yields the
// empty set, which may do nothing: the account cannot sign in.
func readRoles(col string) Roles {
	rs, err := ParseRoles(col)
	if err != nil {
		return nil
	}
	return rs
}
