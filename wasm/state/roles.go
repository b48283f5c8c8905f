package state

import "trustforge/internal/apiwire"

// Role is an account's role on the release server: the contract's
// (apiwire), whose policy the server enforces too.
type Role = apiwire.Role

// Permission is a kind of request to the release server.
type Permission = apiwire.Permission

// AllowedAny reports whether an account holding roles may make requests
// that need perm: whether any of its roles may.
func AllowedAny(roles []Role, perm Permission) bool { return apiwire.AllowedAny(roles, perm) }

// Allowed reports whether role may make requests that need perm. The
// console shows only the actions the signed-in roles allow; the server
// enforces the same table.
func Allowed(role Role, perm Permission) bool { return apiwire.Allowed(role, perm) }
