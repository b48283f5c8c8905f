package station

import (
	"fmt"
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/production"
	"trustforge/internal/apiwire"
	"trustforge/wasm/state"
	"trustforge/wasm/station"
	"trustforge/wasm/ui/kit"
)

// This file renders station mode.

func (p *Page) Render() app.UI {
	content := []app.UI{
		app.P().Class("lead").Text("Station mode: program the boards presented on this station's production ports under a production package — " +
			"a ticket from the server before each board, its identity from the package's batch CA, the release flashed and its boot checked."),
	}
	_, signedIn := p.App.Session()
	switch {
	case !p.App.SessionChecked():
		content = append(content, app.P().Class("muted").ID("station-loading").Text("Checking your session…"))
	case !signedIn:
		content = append(content, app.P().ID("station-signin").Text("Sign in with the station's account."), &kit.SignInForm{App: p.App})
	case !p.App.Can(apiwire.PermProduce):
		content = append(content, app.P().ID("station-not-station").Class("muted").
			Text("Station mode is for programming stations' accounts: yours does not take production tickets."))
	default:
		if p.App.VaultState() != state.VaultUnlocked {
			content = append(content, &kit.VaultPanel{App: p.App})
		}
		content = append(content, p.packagePanel())
		if p.pkg != nil {
			content = append(content, p.runPanel())
		}
	}
	return &kit.Layout{App: p.App, Active: kit.StationPath, Title: "Station", Content: []app.UI{
		app.Div().ID("station").DataSet("state", p.state).DataSet("runs", strconv.Itoa(p.runs)).Body(content...),
	}}
}

func (p *Page) packagePanel() app.UI {
	if p.pkg != nil {
		m := p.pkg.Manifest
		return app.Section().Class("panel").ID("station-package").DataSet("package", p.pkg.ID).Aria("label", "Production package").Body(
			app.H2().Text("Order "+m.Batch),
			app.Dl().Class("kv").Body(
				app.Dt().Text("Product"), app.Dd().Text(m.Product),
				app.Dt().Text("Release"), app.Dd().Text(m.Release.Version+" ("+m.Release.ID.String()[:16]+"…)"),
				app.Dt().Text("Image"), app.Dd().Text(string(m.ImageMode)),
				app.Dt().Text("Authorised"), app.Dd().ID("station-authorised").Text(strconv.Itoa(m.Count)+" devices"),
				app.Dt().Text("Open until"), app.Dd().Text(m.Expires.Local().Format(time.DateTime)),
				app.Dt().Text("Package"), app.Dd().Body(app.Code().Text(p.pkg.ID[:16]+"…")),
				app.If(!m.Release.IsFlashSet(), func() app.UI {
					return app.Dt().Text("USB DFU boards")
				}),
				app.If(!m.Release.IsFlashSet(), func() app.UI {
					return app.Dd().ID("station-dfu").Text(stationDFUText(m.DFU))
				}),
			),
		)
	}
	return app.Section().Class("panel").ID("station-open-panel").DataSet("loaded", strconv.Itoa(p.loads)).
		Aria("label", "Open a production package").Body(
		app.H2().Text("Open a production package"),
		app.Button().ID("station-refresh").DataSet("testid", "station-refresh").Class("btn-small btn-ghost").
			Text("Refresh the orders").OnClick(func(ctx app.Context, e app.Event) { p.loadPackages(ctx) }),
		app.If(len(p.packages) == 0, func() app.UI {
			return app.P().Class("muted").ID("station-no-package").Text("No open production order is addressed to this station yet.")
		}).Else(func() app.UI {
			return app.Div().Class("form-inline").Body(
				kit.Pair(app.Label().For("station-package-select").Text("Order"),
					app.Select().ID("station-package-select").DataSet("testid", "station-package-select").
						OnChange(func(ctx app.Context, e app.Event) { p.pkgID = ctx.JSSrc().Get("value").String() }).
						Body(app.Range(p.packages).Slice(func(i int) app.UI {
							pk := p.packages[i]
							return app.Option().Value(pk.ID).Selected(pk.ID == p.pkgID).
								Text(pk.Product + " " + pk.Batch + " (" + strconv.Itoa(pk.Remaining) + " of " + strconv.Itoa(pk.Count) + " left)")
						}))),
				app.Button().ID("station-open").DataSet("testid", "station-open").Disabled(p.state == stationOpening).
					Text("Open package").OnClick(p.open),
			)
		}),
		p.messages(),
	)
}

func (p *Page) runPanel() app.UI {
	c := p.counts
	remaining := c.Remaining
	if remaining < 0 {
		remaining = p.record.Remaining
	}
	running := p.state == stationRunning
	return app.Section().Class("panel").ID("station-run-panel").Aria("label", "Program boards").Body(
		app.H2().Text("Boards"),
		app.Div().Class("station-counts").ID("station-counts").Body(
			stationCount("done", "Done", c.Done),
			stationCount("failed", "Failed", c.Failed),
			stationCount("refused", "Refused", c.Refused),
			stationCount("remaining", "Remaining in the order", remaining),
		),
		app.Div().Class("form-inline").Body(
			kit.Pair(app.Label().For("station-baud").Text("Line speed"),
				app.Input().ID("station-baud").Type("text").Value(p.baud).Size(8).
					OnInput(func(ctx app.Context, e app.Event) { p.baud = ctx.JSSrc().Get("value").String() })),
			kit.Pair(app.Input().Type("checkbox").ID("station-any-port").Checked(p.anyPort).
				OnChange(func(ctx app.Context, e app.Event) { p.anyPort = ctx.JSSrc().Get("checked").Bool() }),
				app.Label().For("station-any-port").Text("also ports without USB information (never the machine's console UART)")),
		),
		app.If(p.pkg.Manifest.DFU.ReadOutProtection, func() app.UI { return p.rdpConfirm(running) }),
		app.Div().Class("form-actions").Body(
			app.Button().ID("station-run").DataSet("testid", "station-run").Class("btn-primary").Disabled(running).
				Text("Program the presented boards").OnClick(p.run),
			app.If(running, func() app.UI {
				return app.Button().ID("station-cancel").Class("btn-ghost").Text("Stop").OnClick(func(ctx app.Context, e app.Event) {
					if p.cancel != nil {
						p.cancel()
					}
				})
			}),
		),
		app.Div().Class("form-inline").Body(
			kit.Pair(app.Label().For("station-block").Text("Tickets to hold for offline work"),
				app.Input().ID("station-block").Type("text").Value(p.blockN).Size(4).
					OnInput(func(ctx app.Context, e app.Event) { p.blockN = ctx.JSSrc().Get("value").String() })),
			app.Button().ID("station-block-fetch").Class("btn-small btn-ghost").Disabled(running).Text("Fetch").OnClick(p.fetchBlock),
			app.Span().ID("station-held").DataSet("count", strconv.Itoa(p.held)).Class("muted").Text(strconv.Itoa(p.held)+" held"),
		),
		p.messages(),
		app.If(len(p.boards) > 0, func() app.UI { return p.boardTable() }),
	)
}

// stationDoneText says what was done to a board: one with a certificate
// was provisioned; the others (ESP32, USB DFU) say what their last step
// did.
func stationDoneText(r *station.Result, version string) string {
	if len(r.Chain) > 0 || len(r.Steps) == 0 {
		return "provisioned, flashed and running " + version
	}
	return version + ": " + r.Steps[len(r.Steps)-1].Detail
}

// stationDFUText says how the package programs USB DFU boards.
func stationDFUText(d production.DFU) string {
	at := "at the start of their flash"
	if d.Address != 0 {
		at = fmt.Sprintf("at %#08x", d.Address)
	}
	t := "Zephyr boards: the image into their upload slot, test-booted and confirmed. STM32 bootloaders: the image " + at + ", read back and compared, "
	if d.ReadOutProtection {
		return t + "then read-out protection set to RDP level 1 (the package asks for it)."
	}
	return t + "then started; read-out protection is left as it is."
}

// rdpConfirm is the operator's confirmation of the package's request for
// STM32 read-out protection level 1.
func (p *Page) rdpConfirm(running bool) app.UI {
	return app.Div().ID("station-rdp").DataSet("confirmed", p.rdpConfirmed).Body(
		app.P().Class("banner banner-warn").Text("This package sets read-out protection to RDP level 1 on every STM32 board it programs: "+
			"the flash can no longer be read through the bootloader or a debugger. It cannot be undone without erasing the whole flash. "+
			"Until you confirm it, STM32 boards are refused with nothing written."),
		app.Div().Class("form-inline").Body(
			kit.Pair(app.Input().ID("station-rdp-confirm").DataSet("testid", "station-rdp-confirm").Type("checkbox").
				Checked(p.rdpConfirmed).Disabled(running).OnChange(p.confirmRDP),
				app.Label().For("station-rdp-confirm").Text("I understand this cannot be undone: set RDP level 1 on the STM32 boards")),
		),
	)
}

func stationCount(id, label string, n int) app.UI {
	return app.Div().Class("station-count").ID("station-count-"+id).DataSet("count", strconv.Itoa(n)).Body(
		app.Strong().Text(strconv.Itoa(n)), app.Span().Text(label))
}

func (p *Page) messages() app.UI {
	return app.Div().Body(
		app.If(p.msg != "", func() app.UI {
			return app.P().ID("station-message").Class("ok").Aria("live", "polite").Text(p.msg)
		}),
		app.If(p.err != "", func() app.UI {
			return app.P().ID("station-error").Class("error").Aria("live", "assertive").Text(p.err)
		}),
	)
}

func (p *Page) boardTable() app.UI {
	return app.Table().ID("station-boards").Class("station-boards").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Text("Port"), app.Th().Text("Device"), app.Th().Text("State"), app.Th().Text("Ticket"), app.Th().Text("Detail"),
		)),
		app.TBody().Body(app.Range(p.boards).Slice(func(i int) app.UI {
			b := p.boards[i]
			stateText, device, ticket, detail := "running: "+b.Step, "", "", b.Detail
			if b.Unplugged {
				stateText = "unplugged: waiting for the board"
			}
			if r := b.Result; r != nil {
				stateText, device, detail = string(r.State), r.DeviceID, r.Reason
				if r.Ticket != nil {
					ticket = strconv.Itoa(r.Ticket.Seq) + " of " + strconv.Itoa(r.Ticket.Count)
				}
				if r.State == station.Done {
					detail = stationDoneText(r, p.pkg.Manifest.Release.Version)
				}
			}
			row := app.Tr().ID("station-board-"+strconv.Itoa(i)).DataSet("testid", "station-board").DataSet("index", strconv.Itoa(i)).
				DataSet("port", b.Port)
			if r := b.Result; r != nil {
				row = row.DataSet("state", string(r.State)).DataSet("device", r.DeviceID)
				if r.Ticket != nil {
					row = row.DataSet("ticket", r.Ticket.ID)
				}
			} else {
				row = row.DataSet("state", "running").DataSet("unplugged", b.Unplugged)
			}
			return row.Body(
				app.Td().Text(b.Port),
				app.Td().Body(app.Code().Text(device)),
				app.Td().Class("board-state").Text(stateText),
				app.Td().Text(ticket),
				app.Td().Class("board-detail").Body(
					app.Text(detail),
					app.If(b.Total > 0 && b.Result == nil, func() app.UI {
						return app.Progress().ID("station-progress-"+strconv.Itoa(i)).DataSet("done", b.Done).DataSet("total", b.Total).
							Max(b.Total).Value(b.Done).Aria("label", "Written")
					}),
				),
			)
		})),
	)
}
