package state

// Role is an account's role on the release server.
type Role string

// The roles.
const (
	RoleAdmin      Role = "admin"
	RoleEngineer   Role = "engineer"
	RoleTechnician Role = "technician"
	RoleStation    Role = "station"
)

// Permission is a kind of request to the release server. The names and
// the table in Allowed are the server's (server/auth); a test keeps them
// equal.
type Permission string

// The permissions the console checks before offering an action.
const (
	PermSelf     Permission = "self"
	PermUsers    Permission = "users"
	PermProducts Permission = "products"
	PermKeys     Permission = "keys"
	PermAudit    Permission = "audit"
	PermRead     Permission = "read"
	PermPublish  Permission = "publish"
	PermPromote  Permission = "promote"
	PermYank     Permission = "yank"
	PermDownload Permission = "download"
	// PermReport records a board's update in the audit log.
	PermReport Permission = "report"
	// PermDevices lists and reads the device registry.
	PermDevices Permission = "devices"
	// PermProvision registers a newly provisioned board.
	PermProvision Permission = "provision"
	// PermRevoke revokes boards and publishes revocation lists.
	PermRevoke Permission = "revoke"
	// PermProduction lists production packages and downloads them.
	PermProduction Permission = "production"
	// PermProduce takes production tickets: station mode.
	PermProduce Permission = "produce"
)

// AllRoles lists the roles in their canonical order.
var AllRoles = []Role{RoleAdmin, RoleEngineer, RoleTechnician, RoleStation}

// AllowedAny reports whether an account holding roles may make requests
// that need perm: whether any of its roles may.
func AllowedAny(roles []Role, perm Permission) bool {
	for _, r := range roles {
		if Allowed(r, perm) {
			return true
		}
	}
	return false
}

// RolesOf converts role names (as the server sends them) to Roles.
func RolesOf(names []string) []Role {
	out := make([]Role, len(names))
	for i, n := range names {
		out[i] = Role(n)
	}
	return out
}

// Allowed reports whether role may make requests that need perm. The
// console shows only the actions the signed-in roles allow; the server
// enforces the same table.
func Allowed(role Role, perm Permission) bool {
	switch perm {
	case PermSelf:
		return role == RoleAdmin || role == RoleEngineer || role == RoleTechnician || role == RoleStation
	case PermUsers, PermProducts, PermAudit:
		return role == RoleAdmin
	case PermKeys:
		return role == RoleAdmin || role == RoleEngineer
	case PermRead:
		return role == RoleAdmin || role == RoleEngineer || role == RoleTechnician
	case PermPublish, PermPromote, PermYank:
		return role == RoleEngineer
	case PermDownload, PermReport:
		return role == RoleEngineer || role == RoleTechnician || role == RoleStation
	case PermDevices:
		return role == RoleAdmin || role == RoleEngineer || role == RoleTechnician || role == RoleStation
	case PermProvision:
		return role == RoleEngineer || role == RoleStation
	case PermRevoke:
		return role == RoleAdmin || role == RoleEngineer
	case PermProduction:
		return role == RoleAdmin || role == RoleEngineer || role == RoleStation
	case PermProduce:
		return role == RoleStation
	}
	return false
}
