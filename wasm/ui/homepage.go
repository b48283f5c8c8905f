package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/state"
)

// homePage is the console's landing page: what each section is for.
type homePage struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
}

func (h *homePage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("trustforge console")
}

func (h *homePage) Render() app.UI {
	blurbs := map[string]string{
		"devices":  "Connect a board over Web Serial or WebUSB, read its slots, flash signed images and confirm them.",
		"releases": "Sign and encrypt firmware in this browser, publish it as a release bundle, promote and yank it.",
		"keys":     "Your signing and encryption keys, sealed in this browser's vault. They never leave it.",
		"identity": "Run a device CA, issue certificates to keys born on the board, and lock provisioned boards.",
		"security": "The product's STRIDE threat analysis, each threat tied to the control that answers it.",
	}
	pages := Pages()
	return &layout{
		App:    h.App,
		Active: "/",
		Title:  "Console",
		Content: []app.UI{
			app.P().Class("lead").Text("Provision, sign and update IoT boards from this browser. " +
				"Private keys and plaintext firmware stay on this machine; the server only keeps encrypted, signed releases."),
			app.Div().Class("cards").Body(
				app.Range(pages).Slice(func(i int) app.UI {
					p := pages[i]
					return app.A().Class("card").Href(p.Path).ID("card-"+p.ID).Body(
						app.H2().Body(app.Img().Class("card-icon").Src(p.Icon()).Alt(""), app.Text(p.Title)),
						app.P().Text(blurbs[p.ID]),
					)
				}),
			),
		},
	}
}
