// Package ui holds the trustforge console's page table: every page is
// registered here, and this is the one package that imports them all.
//
// Each page lives in a package of its own below wasm/ui (admin, devices,
// enrol, home, identity, keys, releases, security, station, update), over
// kit, what every page shares (layout, navigation, sign-in form, vault
// panel, progress bar, file picker, error wording), and board, the board
// components that the Devices, Identity, update and Station pages share
// (device kit, connection and ESP32 panels, DFU session). A page imports
// kit and board, never another page.
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
	"trustforge/wasm/ui/admin"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/devices"
	"trustforge/wasm/ui/enrol"
	"trustforge/wasm/ui/home"
	"trustforge/wasm/ui/identity"
	"trustforge/wasm/ui/keys"
	"trustforge/wasm/ui/kit"
	"trustforge/wasm/ui/releases"
	"trustforge/wasm/ui/security"
	"trustforge/wasm/ui/station"
	"trustforge/wasm/ui/update"
)

// Page is one entry of the console's navigation.
type Page = kit.Page

// Pages lists the console's pages in navigation order.
func Pages() []Page { return kit.Pages() }

// UpdatePath is the path of the field technician's update flow.
const UpdatePath = kit.UpdatePath

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
	boards := board.NewKit()
	draft := releases.NewDraft()
	app.Route("/", func() app.Composer { return &home.Page{App: st, Kit: boards} })
	app.Route(kit.SignInPath, func() app.Composer { return &kit.SignInPage{App: st} })
	app.Route(kit.EnrolPath, func() app.Composer { return &enrol.Page{App: st} })
	app.Route("/devices", func() app.Composer { return &devices.Page{App: st, Kit: boards} })
	app.Route(kit.UpdatePath, func() app.Composer { return &update.Page{App: st, Kit: boards} })
	app.Route("/releases", func() app.Composer { return &releases.Page{App: st, Draft: draft} })
	app.Route("/keys", func() app.Composer { return &keys.Page{App: st} })
	app.Route("/identity", func() app.Composer { return &identity.Page{App: st, Kit: boards} })
	app.Route("/security", func() app.Composer { return &security.Page{App: st} })
	app.Route(kit.StationPath, func() app.Composer { return &station.Page{App: st} })
	app.Route(kit.AdminPath, func() app.Composer { return &admin.Page{App: st} })
}
