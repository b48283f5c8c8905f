// Package admin is the console's Administration page: accounts and their
// roles, passwords and tokens, products and channels, signing keys, and the
// audit log with its chain checked in the browser.
package admin

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/internal/apiwire"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// Page is where administrators manage accounts, products and
// channels, and read the audit log: everything the API lets them do.
type Page struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	unsubscribe func()
}

func (p *Page) OnNav(ctx app.Context) { ctx.Page().SetTitle("Administration · trustforge") }

func (p *Page) OnMount(ctx app.Context) {
	if !app.IsClient {
		return
	}
	p.unsubscribe = p.App.Subscribe(func() { ctx.Dispatch(nil) })
}

func (p *Page) OnDismount() {
	if p.unsubscribe != nil {
		p.unsubscribe()
	}
}

func (p *Page) Render() app.UI {
	var content []app.UI
	switch {
	case !p.App.SessionChecked():
		content = []app.UI{app.P().Class("muted").Text("Checking who is signed in…")}
	case !kit.SignedIn(p.App):
		content = []app.UI{&kit.SignInForm{App: p.App}}
	case !p.App.Can(apiwire.PermUsers):
		// The page note above says who administers and how to reach them.
	default:
		content = []app.UI{
			app.Nav().Class("section-index").Aria("label", "Sections of this page").Body(
				app.A().Href("#admin-accounts").Text("Accounts"),
				app.A().Href("#products").Text("Products and channels"),
				app.A().Href("#audit").Text("Audit log"),
			),
			&adminAccounts{App: p.App},
			&adminProducts{App: p.App},
			&adminAudit{App: p.App},
		}
	}
	return &kit.Layout{App: p.App, Active: kit.AdminPath, Title: "Administration", Content: content}
}
