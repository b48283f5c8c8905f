package apiwire

import (
	"slices"
	"strings"
)

// Role is one kind of work an account may do on the server. An account
// holds a set of roles and may do what any of them may.
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
func (r Role) Valid() bool { return slices.Contains(AllRoles, r) }

// Roles is a set of roles, as an account holds them: what it may do is
// the union of what each role may.
type Roles []Role

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

// String joins the set's roles with commas, as the older role field and
// the database write them: "admin,engineer".
func (rs Roles) String() string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

// Permission is a kind of request a role may or may not make. Every route
// needs exactly one, or none for the few anyone may call.
type Permission string

// The permissions.
const (
	// PermSelf: see one's own session and manage one's own API tokens.
	PermSelf Permission = "self"
	// PermUsers: list, create and change accounts, and issue tokens for them.
	PermUsers Permission = "users"
	// PermProducts: register products and channels.
	PermProducts Permission = "products"
	// PermKeys: register and revoke a product's release-signing public
	// keys and device roots: an engineer registers the key their vault
	// holds.
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

// policy is the whole access policy: the roles that may make requests
// needing each permission. The server enforces it; the console offers
// only the actions it allows. (A table of constants rather than a map,
// so that it costs the console's WebAssembly no start-up code.)
var policy = [...]struct {
	perm  Permission
	roles roleBits
}{
	{PermSelf, admin | engineer | technician | station},
	{PermUsers, admin},
	{PermProducts, admin},
	{PermAudit, admin},
	{PermKeys, admin | engineer},
	{PermRead, admin | engineer | technician},
	{PermPublish, engineer},
	{PermPromote, engineer},
	{PermYank, engineer},
	{PermDownload, engineer | technician | station},
	{PermReport, engineer | technician | station},
	{PermDevices, admin | engineer | technician | station},
	{PermProvision, engineer | station},
	{PermRevoke, admin | engineer},
	{PermProduction, admin | engineer | station},
	{PermProduce, station},
}

// roleBits is a set of roles, one bit each in the order of AllRoles.
type roleBits uint8

const (
	admin roleBits = 1 << iota
	engineer
	technician
	station
)

// bits returns the policy's set for perm, and whether perm has a row.
func bits(perm Permission) (roleBits, bool) {
	for _, p := range policy {
		if p.perm == perm {
			return p.roles, true
		}
	}
	return 0, false
}

// Permissions lists every permission, in the order of the policy's
// documentation.
var Permissions = []Permission{PermSelf, PermUsers, PermProducts, PermKeys, PermAudit, PermRead, PermPublish,
	PermPromote, PermYank, PermDownload, PermReport, PermDevices, PermProvision, PermRevoke, PermProduction, PermProduce}

// Allowed reports whether role may make requests that need perm.
func Allowed(role Role, perm Permission) bool {
	i := slices.Index(AllRoles, role)
	b, _ := bits(perm)
	return i >= 0 && b&(1<<i) != 0
}

// AllowedAny reports whether an account holding roles may make requests
// that need perm: whether any one of its roles may.
func AllowedAny(roles []Role, perm Permission) bool {
	for _, r := range roles {
		if Allowed(r, perm) {
			return true
		}
	}
	return false
}
