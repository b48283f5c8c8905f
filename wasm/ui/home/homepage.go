// Package home is the console's landing page: what each section is for,
// and the getting-started checklist drawn from the server, the vault and
// the connected board.
package home

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/guide"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
)

// Page is the console's landing page: what each section is for.
type Page struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// Kit holds this browser's board tools and update log.
	Kit *board.Kit

	unsubscribe func()
}

func (h *Page) OnMount(ctx app.Context) {
	if !app.IsClient {
		return // the server's pre-rendering has no session to follow
	}
	h.unsubscribe = h.App.Subscribe(func() { ctx.Dispatch(nil) })
	ctx.PreventUpdate() // nothing to show anew
}

func (h *Page) OnDismount() {
	if h.unsubscribe != nil {
		h.unsubscribe()
	}
}

// welcome is what the home page says before the cards: the checklist for
// someone signed in, or the way in for someone who is not. The server's
// pre-rendered page shows the way in (a browser that never signed in shows
// it from its first render on); while a signed-in browser's session is
// checked the same panel holds its place unseen, so the cards do not jump
// when the console takes the page over.
func (h *Page) welcome() app.UI {
	checked := h.App.SessionChecked()
	if checked && kit.SignedIn(h.App) {
		return &gettingStarted{App: h.App, Kit: h.Kit}
	}
	panel := app.Div().Class("panel").ID("home-signed-out").Body(
		app.P().Text("Sign in to see your getting-started steps. The first person on a new server opens the one-time link the server printed when it started (…/enrol#token=…)."),
		app.A().Href(kit.SignInPath).Text("Sign in"),
	)
	if app.IsClient && !checked {
		return panel.Class("unseen").Aria("hidden", "true")
	}
	return panel
}

func (h *Page) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("trustforge console")
	ctx.PreventUpdate() // the title is the page's, not the component's
}

func (h *Page) Render() app.UI {
	blurbs := map[string]string{
		"devices":  "Connect a board over Web Serial or WebUSB, read its slots, flash signed images and confirm them.",
		"releases": "Sign and encrypt firmware in this browser, publish it as a release bundle, promote and yank it.",
		"keys":     "Your signing and encryption keys, sealed in this browser's vault. They never leave it.",
		"identity": "Run a device CA, issue certificates to keys born on the board, and lock provisioned boards.",
		"security": "The product's STRIDE threat analysis, each threat tied to the control that answers it.",
		"station":  "Program boards on a production line from a production package, one server ticket per board.",
		"admin":    "Accounts and their roles, API tokens, products and channels, and the audit log.",
	}
	pages := kit.Pages()
	return &kit.Layout{
		App:    h.App,
		Active: "/",
		Title:  "Console",
		Content: []app.UI{
			app.P().Class("lead").Text("Provision, sign and update IoT boards from this browser. " +
				"Private keys and plaintext firmware stay on this machine; the server only keeps encrypted, signed releases."),
			h.welcome(),
			app.Div().Class("cards").Body(
				app.Range(pages).Slice(func(i int) app.UI {
					p := pages[i]
					line := ""
					if gp, ok := guide.PageFor(p.ID); ok {
						line = guide.CardLine(gp, kit.ViewerOf(h.App))
					}
					return app.A().Class("card").Href(p.Path).ID("card-"+p.ID).Body(
						app.H2().Body(p.Icon("card-icon"), app.Text(p.Title)),
						app.P().Text(blurbs[p.ID]),
						app.If(line != "", func() app.UI { return app.P().Class("card-role").Text(line) }),
					)
				}),
			),
		},
	}
}
