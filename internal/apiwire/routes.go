package apiwire

import (
	"net/url"
	"strings"
)

// Route is one API endpoint: its method, its path pattern in net/http
// ServeMux syntax ("/api/releases/{id}") and the permission it needs (""
// for the few anyone may call).
type Route struct {
	Method  string
	Pattern string
	Perm    Permission
}

// String returns the route as a ServeMux pattern: "GET /api/releases/{id}".
func (r Route) String() string { return r.Method + " " + r.Pattern }

// Path fills the pattern's wildcards, in order, with args, each
// path-escaped. It panics when the number of args is not the number of
// wildcards: that is a programming error.
func (r Route) Path(args ...string) string {
	parts := strings.Split(r.Pattern, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") {
			if len(args) == 0 {
				panic("apiwire: too few arguments for " + r.String())
			}
			parts[i], args = url.PathEscape(args[0]), args[1:]
		}
	}
	if len(args) > 0 {
		panic("apiwire: too many arguments for " + r.String())
	}
	return strings.Join(parts, "/")
}

// The routes.
var (
	Enrol        = Route{"POST", "/api/enrol", ""}
	SignIn       = Route{"POST", "/api/session", ""}
	GetSession   = Route{"GET", "/api/session", PermSelf}
	SignOut      = Route{"DELETE", "/api/session", PermSelf}
	ListTokens   = Route{"GET", "/api/tokens", PermSelf}
	CreateToken  = Route{"POST", "/api/tokens", PermSelf}
	DeleteToken  = Route{"DELETE", "/api/tokens/{id}", PermSelf}
	SetRecipient = Route{"PUT", "/api/recipient", PermSelf}
	Recipients   = Route{"GET", "/api/recipients", PermRead}

	ListAdmins      = Route{"GET", "/api/admins", PermSelf}
	ListUsers       = Route{"GET", "/api/users", PermUsers}
	CreateUser      = Route{"POST", "/api/users", PermUsers}
	UpdateUser      = Route{"PATCH", "/api/users/{name}", PermUsers}
	CreateUserToken = Route{"POST", "/api/users/{name}/tokens", PermUsers}

	ListProducts     = Route{"GET", "/api/products", PermRead}
	CreateProduct    = Route{"POST", "/api/products", PermProducts}
	GetProduct       = Route{"GET", "/api/products/{product}", PermRead}
	AddChannel       = Route{"POST", "/api/products/{product}/channels", PermProducts}
	ListKeys         = Route{"GET", "/api/products/{product}/keys", PermRead}
	AddKey           = Route{"POST", "/api/products/{product}/keys", PermKeys}
	RevokeKey        = Route{"DELETE", "/api/products/{product}/keys/{fingerprint}", PermKeys}
	ListDeviceRoots  = Route{"GET", "/api/products/{product}/device-roots", PermDevices}
	AddDeviceRoot    = Route{"POST", "/api/products/{product}/device-roots", PermKeys}
	RevokeDeviceRoot = Route{"DELETE", "/api/products/{product}/device-roots/{fingerprint}", PermKeys}
	Latest           = Route{"GET", "/api/products/{product}/channels/{channel}/latest", PermDownload}
	ProductSummary   = Route{"GET", "/api/products/{product}/summary", PermRead}

	ListReleases     = Route{"GET", "/api/releases", PermRead}
	PublishRelease   = Route{"POST", "/api/releases", PermPublish}
	GetRelease       = Route{"GET", "/api/releases/{id}", PermRead}
	PromoteRelease   = Route{"POST", "/api/releases/{id}/promote", PermPromote}
	YankRelease      = Route{"POST", "/api/releases/{id}/yank", PermYank}
	DownloadManifest = Route{"GET", "/api/releases/{id}/manifest", PermDownload}
	DownloadPayload  = Route{"GET", "/api/releases/{id}/payload", PermDownload}
	DownloadBundle   = Route{"GET", "/api/releases/{id}/bundle", PermDownload}

	ExportAudit        = Route{"GET", "/api/audit", PermAudit}
	RecordDeviceUpdate = Route{"POST", "/api/device-updates", PermReport}

	ListDevices    = Route{"GET", "/api/devices", PermDevices}
	RegisterDevice = Route{"POST", "/api/devices", PermProvision}
	GetDevice      = Route{"GET", "/api/devices/{id}", PermDevices}
	RevokeDevice   = Route{"POST", "/api/devices/{id}/revoke", PermRevoke}
	RecordEFuses   = Route{"PUT", "/api/devices/{id}/efuses", PermProvision}
	PublishCRL     = Route{"POST", "/api/crls", PermRevoke}
	GetCRL         = Route{"GET", "/api/crls/{issuer}", ""}

	PublishPackage  = Route{"POST", "/api/production/packages", PermPublish}
	ListPackages    = Route{"GET", "/api/production/packages", PermProduction}
	GetPackage      = Route{"GET", "/api/production/packages/{id}", PermProduction}
	DownloadPackage = Route{"GET", "/api/production/packages/{id}/file", PermProduction}
	ListTickets     = Route{"GET", "/api/production/packages/{id}/tickets", PermProduction}
	TakeTickets     = Route{"POST", "/api/production/packages/{id}/tickets", PermProduce}
	GetTicketKey    = Route{"GET", "/api/production/ticket-key", ""}
)

// Routes lists every route of the API. The server's router holds exactly
// these (server/api's TestRoutesAreTheContract).
var Routes = []Route{
	Enrol, SignIn, GetSession, SignOut, ListTokens, CreateToken, DeleteToken, SetRecipient, Recipients,
	ListAdmins, ListUsers, CreateUser, UpdateUser, CreateUserToken,
	ListProducts, CreateProduct, GetProduct, AddChannel, ListKeys, AddKey, RevokeKey,
	ListDeviceRoots, AddDeviceRoot, RevokeDeviceRoot, Latest, ProductSummary,
	ListReleases, PublishRelease, GetRelease, PromoteRelease, YankRelease, DownloadManifest, DownloadPayload, DownloadBundle,
	ExportAudit, RecordDeviceUpdate,
	ListDevices, RegisterDevice, GetDevice, RevokeDevice, RecordEFuses, PublishCRL, GetCRL,
	PublishPackage, ListPackages, GetPackage, DownloadPackage, ListTickets, TakeTickets, GetTicketKey,
}
