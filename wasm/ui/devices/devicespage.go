// Package devices is the console's Devices page: a board connected over
// Web Serial, WebUSB or the simulator, read, given images and releases,
// tested, confirmed, reset and erased, with the SMP exchange shown; USB
// DFU and ESP32 boards get their own panels. The connection and ESP32
// panels come from board, shared with the other pages that talk to boards.
package devices

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/state"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
)

// Page is the Devices section: connect a board over Web Serial,
// WebUSB or the simulated board, read it, upload images and releases, test,
// confirm, reset and erase, and see the SMP exchange.
type Page struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// Kit is the board link and the field stores, shared with the update
	// flow.
	Kit *board.Kit
}

func (p *Page) OnNav(ctx app.Context) { ctx.Page().SetTitle("Devices · trustforge") }

func (p *Page) OnMount(ctx app.Context) {
	if app.IsClient {
		p.Kit.StartSync(p.App)
	}
}

func (p *Page) Render() app.UI {
	return &kit.Layout{
		App:    p.App,
		Active: "/devices",
		Title:  "Devices",
		Content: []app.UI{
			app.P().Class("lead").Body(
				app.Text("Boards connected to this computer, reached directly from the browser. Updating boards in the field? "),
				app.A().ID("open-update").DataSet("testid", "open-update").Href(kit.UpdatePath).Text("Use the guided update"),
				app.Text(": it checks the release and the board for you and keeps a report."),
			),
			&board.ConnectPanel{Kit: p.Kit},
			&dfuPanel{App: p.App, Kit: p.Kit},
			&boardPanel{Kit: p.Kit},
			&uploadPanel{App: p.App, Kit: p.Kit},
			&smpLogPanel{Kit: p.Kit},
			&board.ESPPanel{App: p.App},
		},
	}
}
