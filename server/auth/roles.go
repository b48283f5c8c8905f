package auth

import (
	"trustforge/internal/apiwire"
	"trustforge/server/store"
)

// Permission is a kind of request a role may or may not make: the
// contract's (apiwire), where each is documented.
type Permission = apiwire.Permission

// Allowed reports whether an account holding roles may make requests that
// need perm: whether any one of its roles may. The policy is the
// contract's (apiwire.Allowed), which the console applies too.
func Allowed(roles store.Roles, perm Permission) bool { return apiwire.AllowedAny(roles, perm) }

// RoleAllowed reports whether the single role may make requests that need
// perm.
func RoleAllowed(role store.Role, perm Permission) bool { return apiwire.Allowed(role, perm) }

// Permissions lists every permission, for tables and tests.
var Permissions = apiwire.Permissions
