package api

import (
	"net/http"

	"trustforge/server/auth"
)

// route is one API endpoint: its method and path pattern (net/http
// ServeMux syntax), the permission it needs ("" for the two sign-in
// endpoints anyone may call) and its handler.
type route struct {
	method, pattern string
	perm            auth.Permission
	h               handlerFunc
}

func (s *Server) routeTable() []route {
	return []route{
		{"POST", "/api/enrol", "", s.enrol},
		{"POST", "/api/session", "", s.signIn},
		{"GET", "/api/session", auth.PermSelf, s.getSession},
		{"DELETE", "/api/session", auth.PermSelf, s.signOut},
		{"GET", "/api/tokens", auth.PermSelf, s.listOwnTokens},
		{"POST", "/api/tokens", auth.PermSelf, s.createOwnToken},
		{"DELETE", "/api/tokens/{id}", auth.PermSelf, s.deleteToken},
		{"PUT", "/api/recipient", auth.PermSelf, s.setRecipient},
		{"GET", "/api/recipients", auth.PermRead, s.listRecipients},

		{"GET", "/api/admins", auth.PermSelf, s.listAdmins},
		{"GET", "/api/users", auth.PermUsers, s.listUsers},
		{"POST", "/api/users", auth.PermUsers, s.createUser},
		{"PATCH", "/api/users/{name}", auth.PermUsers, s.updateUser},
		{"POST", "/api/users/{name}/tokens", auth.PermUsers, s.createUserToken},

		{"GET", "/api/products", auth.PermRead, s.listProducts},
		{"POST", "/api/products", auth.PermProducts, s.createProduct},
		{"GET", "/api/products/{product}", auth.PermRead, s.getProduct},
		{"POST", "/api/products/{product}/channels", auth.PermProducts, s.addChannel},
		{"GET", "/api/products/{product}/keys", auth.PermRead, s.listKeys},
		{"POST", "/api/products/{product}/keys", auth.PermKeys, s.addKey},
		{"DELETE", "/api/products/{product}/keys/{fingerprint}", auth.PermKeys, s.revokeKey},
		{"GET", "/api/products/{product}/device-roots", auth.PermDevices, s.listDeviceRoots},
		{"POST", "/api/products/{product}/device-roots", auth.PermKeys, s.addDeviceRoot},
		{"DELETE", "/api/products/{product}/device-roots/{fingerprint}", auth.PermKeys, s.revokeDeviceRoot},
		{"GET", "/api/products/{product}/channels/{channel}/latest", auth.PermDownload, s.latest},

		{"GET", "/api/releases", auth.PermRead, s.listReleases},
		{"POST", "/api/releases", auth.PermPublish, s.publish},
		{"GET", "/api/releases/{id}", auth.PermRead, s.getRelease},
		{"POST", "/api/releases/{id}/promote", auth.PermPromote, s.promote},
		{"POST", "/api/releases/{id}/yank", auth.PermYank, s.yank},
		{"GET", "/api/releases/{id}/manifest", auth.PermDownload, s.downloadManifest},
		{"GET", "/api/releases/{id}/payload", auth.PermDownload, s.downloadPayload},
		{"GET", "/api/releases/{id}/bundle", auth.PermDownload, s.downloadBundle},

		{"GET", "/api/audit", auth.PermAudit, s.exportAudit},
		{"POST", "/api/device-updates", auth.PermReport, s.recordDeviceUpdate},

		{"GET", "/api/devices", auth.PermDevices, s.listDevices},
		{"POST", "/api/devices", auth.PermProvision, s.registerDevice},
		{"GET", "/api/devices/{id}", auth.PermDevices, s.getDevice},
		{"POST", "/api/devices/{id}/revoke", auth.PermRevoke, s.revokeDevice},
		{"PUT", "/api/devices/{id}/efuses", auth.PermProvision, s.recordEFuses},
		{"POST", "/api/crls", auth.PermRevoke, s.publishCRL},
		{"GET", "/api/crls/{issuer}", "", s.getCRL},

		{"GET", "/api/products/{product}/summary", auth.PermRead, s.productSummary},
		{"POST", "/api/production/packages", auth.PermPublish, s.publishPackage},
		{"GET", "/api/production/packages", auth.PermProduction, s.listPackages},
		{"GET", "/api/production/packages/{id}", auth.PermProduction, s.getPackage},
		{"GET", "/api/production/packages/{id}/file", auth.PermProduction, s.downloadPackage},
		{"GET", "/api/production/packages/{id}/tickets", auth.PermProduction, s.listTickets},
		{"POST", "/api/production/packages/{id}/tickets", auth.PermProduce, s.takeTickets},
		{"GET", "/api/production/ticket-key", "", s.getTicketKey},
	}
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux.Handle(rt.method+" "+rt.pattern, s.guard(rt.perm, rt.h))
	}
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusNotFound, "no_endpoint", "no API endpoint %s %s", r.Method, r.URL.Path))
	}))
	return mux
}
