package api

import (
	"net/http"

	"trustforge/internal/apiwire"
)

// route is one API endpoint of the contract (apiwire.Routes) and its
// handler.
type route struct {
	apiwire.Route
	h handlerFunc
}

func (s *Server) routeTable() []route {
	return []route{
		{apiwire.Enrol, s.enrol},
		{apiwire.SignIn, s.signIn},
		{apiwire.GetSession, s.getSession},
		{apiwire.SignOut, s.signOut},
		{apiwire.ListTokens, s.listOwnTokens},
		{apiwire.CreateToken, s.createOwnToken},
		{apiwire.DeleteToken, s.deleteToken},
		{apiwire.SetRecipient, s.setRecipient},
		{apiwire.Recipients, s.listRecipients},

		{apiwire.ListAdmins, s.listAdmins},
		{apiwire.ListUsers, s.listUsers},
		{apiwire.CreateUser, s.createUser},
		{apiwire.UpdateUser, s.updateUser},
		{apiwire.CreateUserToken, s.createUserToken},

		{apiwire.ListProducts, s.listProducts},
		{apiwire.CreateProduct, s.createProduct},
		{apiwire.GetProduct, s.getProduct},
		{apiwire.AddChannel, s.addChannel},
		{apiwire.ListKeys, s.listKeys},
		{apiwire.AddKey, s.addKey},
		{apiwire.RevokeKey, s.revokeKey},
		{apiwire.ListDeviceRoots, s.listDeviceRoots},
		{apiwire.AddDeviceRoot, s.addDeviceRoot},
		{apiwire.RevokeDeviceRoot, s.revokeDeviceRoot},
		{apiwire.Latest, s.latest},

		{apiwire.ListReleases, s.listReleases},
		{apiwire.PublishRelease, s.publish},
		{apiwire.GetRelease, s.getRelease},
		{apiwire.PromoteRelease, s.promote},
		{apiwire.YankRelease, s.yank},
		{apiwire.DownloadManifest, s.downloadManifest},
		{apiwire.DownloadPayload, s.downloadPayload},
		{apiwire.DownloadBundle, s.downloadBundle},

		{apiwire.ExportAudit, s.exportAudit},
		{apiwire.RecordDeviceUpdate, s.recordDeviceUpdate},

		{apiwire.ListDevices, s.listDevices},
		{apiwire.RegisterDevice, s.registerDevice},
		{apiwire.GetDevice, s.getDevice},
		{apiwire.RevokeDevice, s.revokeDevice},
		{apiwire.RecordEFuses, s.recordEFuses},
		{apiwire.PublishCRL, s.publishCRL},
		{apiwire.GetCRL, s.getCRL},

		{apiwire.ProductSummary, s.productSummary},
		{apiwire.PublishPackage, s.publishPackage},
		{apiwire.ListPackages, s.listPackages},
		{apiwire.GetPackage, s.getPackage},
		{apiwire.DownloadPackage, s.downloadPackage},
		{apiwire.ListTickets, s.listTickets},
		{apiwire.TakeTickets, s.takeTickets},
		{apiwire.GetTicketKey, s.getTicketKey},
	}
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux.Handle(rt.String(), s.guard(rt.Perm, rt.h))
	}
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusNotFound, apiwire.CodeNoEndpoint, "no API endpoint %s %s", r.Method, r.URL.Path))
	}))
	return mux
}
