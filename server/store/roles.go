package store

import (
	"fmt"
	"slices"
	"strings"
)

// Role is one kind of work an account may do on the server.
type Role string

// The roles, from most to least privileged in what they change.
const (
	RoleAdmin      Role = "admin"      // users, products, keys, the audit log
	RoleEngineer   Role = "engineer"   // publish, promote, yank
	RoleTechnician Role = "technician" // list and download releases
	RoleStation    Role = "station"    // download releases (production lines)
)

// AllRoles lists the roles in their canonical order.
var AllRoles = []Role{RoleAdmin, RoleEngineer, RoleTechnician, RoleStation}

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool {
	return slices.Contains(AllRoles, r)
}

// Roles is the set of roles an account holds: what it may do is the union
// of what each role may. A Roles built by NewRoles or ParseRoles is in
// canonical order (AllRoles) without repeats, so two equal sets compare
// equal element by element.
//
// The database keeps a set in the users table's role column as its String
// form ("admin,engineer"); a database written before accounts held sets
// has one role there, which reads as a set of one, so it needs no
// conversion.
type Roles []Role

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

// Has reports whether the set holds r.
func (rs Roles) Has(r Role) bool { return slices.Contains(rs, r) }

// Valid reports whether the set holds at least one role and only defined
// ones.
func (rs Roles) Valid() bool {
	if len(rs) == 0 {
		return false
	}
	for _, r := range rs {
		if !r.Valid() {
			return false
		}
	}
	return true
}

// String joins the set's roles with commas: "admin,engineer".
func (rs Roles) String() string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
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
