// Package ui holds the trustforge console: its layout, pages and components.
//
// The same routes are registered in the browser (wasm/main.go) and on the
// server, which pre-renders each page so it shows before the WASM has loaded.
// Components stay thin: board I/O, crypto and storage live in the devices/
// and crypto/ packages and run off the UI goroutine.
package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/client"
	"trustforge/wasm/state"
)

// Page is one entry of the console's navigation.
type Page struct {
	Path  string // URL path, e.g. "/devices"
	Title string // navigation label and document title
	ID    string // stable identifier used in test ids: "nav-" + ID
}

// Icon returns the path of the page's icon, a local SVG under /web/icons.
func (p Page) Icon() string { return "/web/icons/" + p.ID + ".svg" }

// Pages lists the console's pages in navigation order.
func Pages() []Page {
	return []Page{
		{Path: "/devices", Title: "Devices", ID: "devices"},
		{Path: "/releases", Title: "Releases", ID: "releases"},
		{Path: "/keys", Title: "Keys", ID: "keys"},
		{Path: "/identity", Title: "Identity", ID: "identity"},
		{Path: "/security", Title: "Security plan", ID: "security"},
		{Path: StationPath, Title: "Station", ID: "station"},
		{Path: AdminPath, Title: "Administration", ID: "admin"},
	}
}

// SignInPath is the sign-in page's path. It takes the page to return to
// as ?next=/path.
const SignInPath = "/signin"

// Routes registers every page of the console with go-app, with a state of
// its own: what the server's pre-renderer needs. The WASM main calls
// RoutesWith instead, to share its state.
func Routes() {
	RoutesWith(state.New(state.Config{API: &client.Client{}}))
}

// RoutesWith registers every page of the console with go-app; each page
// gets st, the tab's shared state (session, role, vault), as its App prop.
// Call it once.
func RoutesWith(st *state.App) {
	kit := newDeviceKit()
	draft := newPublishDraft()
	app.Route("/", func() app.Composer { return &homePage{App: st, Kit: kit} })
	app.Route(SignInPath, func() app.Composer { return &signInPage{App: st} })
	app.Route(EnrolPath, func() app.Composer { return &enrolPage{App: st} })
	app.Route("/devices", func() app.Composer { return &devicesPage{App: st, Kit: kit} })
	app.Route(UpdatePath, func() app.Composer { return &updatePage{App: st, Kit: kit} })
	app.Route("/releases", func() app.Composer { return &releasesPage{App: st, Draft: draft} })
	app.Route("/keys", func() app.Composer { return &keysPage{App: st} })
	app.Route("/identity", func() app.Composer { return &identityPage{App: st, Kit: kit} })
	app.Route("/security", func() app.Composer { return &securityPage{App: st} })
	app.Route(StationPath, func() app.Composer { return &stationPage{App: st} })
	app.Route(AdminPath, func() app.Composer { return &adminPage{App: st} })
}
