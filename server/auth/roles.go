package auth

import "trustforge/server/store"

// Permission is a kind of request a role may or may not make.
type Permission string

// The permissions. Every API endpoint requires exactly one.
const (
	// PermSelf: see one's own session and manage one's own API tokens.
	PermSelf Permission = "self"
	// PermUsers: list, create and change accounts, and issue tokens for them.
	PermUsers Permission = "users"
	// PermProducts: register products and channels.
	PermProducts Permission = "products"
	// PermKeys: register and revoke a product's release-signing public
	// keys: an engineer registers the key their vault holds.
	PermKeys Permission = "keys"
	// PermAudit: export the audit log.
	PermAudit Permission = "audit"
	// PermRead: list products, keys and releases and read their metadata.
	PermRead Permission = "read"
	// PermPublish: upload a release.
	PermPublish Permission = "publish"
	// PermPromote: offer a release on another channel.
	PermPromote Permission = "promote"
	// PermYank: withdraw a release.
	PermYank Permission = "yank"
	// PermDownload: fetch a release's manifest, payload or bundle, and the
	// latest release of a channel.
	PermDownload Permission = "download"
	// PermReport: record the update of a device in the audit log, as the
	// console does after flashing a board.
	PermReport Permission = "report"
	// PermDevices: list, search and read the device registry (certificates
	// and public encryption keys of provisioned boards).
	PermDevices Permission = "devices"
	// PermProvision: register a newly provisioned board.
	PermProvision Permission = "provision"
	// PermRevoke: revoke a board's certificate and publish revocation
	// lists.
	PermRevoke Permission = "revoke"
	// PermProduction: list and read production packages and their
	// tickets, and download a package (which only stations can open).
	PermProduction Permission = "production"
	// PermProduce: take production tickets, one before each device a
	// programming station builds.
	PermProduce Permission = "produce"
)

// Allowed reports whether an account holding roles may make requests that
// need perm: whether any one of its roles may. It is the server's whole
// access policy.
func Allowed(roles store.Roles, perm Permission) bool {
	for _, r := range roles {
		if RoleAllowed(r, perm) {
			return true
		}
	}
	return false
}

// RoleAllowed reports whether the single role may make requests that need
// perm: the table Allowed applies to each role of a set.
func RoleAllowed(role store.Role, perm Permission) bool {
	switch perm {
	case PermSelf:
		return role.Valid()
	case PermUsers, PermProducts, PermAudit:
		return role == store.RoleAdmin
	case PermRead:
		return role == store.RoleAdmin || role == store.RoleEngineer || role == store.RoleTechnician
	case PermPublish, PermPromote, PermYank:
		return role == store.RoleEngineer
	case PermDownload, PermReport:
		return role == store.RoleEngineer || role == store.RoleTechnician || role == store.RoleStation
	case PermDevices:
		return role.Valid()
	case PermProvision:
		return role == store.RoleEngineer || role == store.RoleStation
	case PermRevoke, PermKeys:
		return role == store.RoleAdmin || role == store.RoleEngineer
	case PermProduction:
		return role == store.RoleAdmin || role == store.RoleEngineer || role == store.RoleStation
	case PermProduce:
		return role == store.RoleStation
	}
	return false
}

// Permissions lists every permission, for tables and tests.
var Permissions = []Permission{PermSelf, PermUsers, PermProducts, PermKeys, PermAudit, PermRead, PermPublish,
	PermPromote, PermYank, PermDownload, PermReport, PermDevices, PermProvision, PermRevoke, PermProduction, PermProduce}
