// Package releases is the console's Releases page: publishing signed and
// encrypted releases (engineers), the list of releases with promotion and
// yanking, and production orders for the factory.
package releases

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/internal/apiwire"
	"trustforge/wasm/client"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// Page is the Releases section: publishing (engineers) and the
// releases of each product and channel, verified in this browser.
type Page struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// Draft is the publish form's content, kept for the tab's session.
	Draft *Draft

	unsubscribe func()
	published   int    // bumps to make the list reload after a publish
	lastProduct string // the product of the last release published here
}

func (p *Page) OnNav(ctx app.Context) { ctx.Page().SetTitle("Releases · trustforge") }

func (p *Page) OnMount(ctx app.Context) {
	if app.IsClient {
		p.unsubscribe = p.App.Subscribe(func() { ctx.Dispatch(nil) })
	}
}

func (p *Page) OnDismount() {
	if p.unsubscribe != nil {
		p.unsubscribe()
	}
}

func (p *Page) Render() app.UI {
	content := []app.UI{
		app.P().Class("lead").Text("Firmware releases: signed and encrypted here, stored encrypted on the server, " +
			"and checked again in this browser before anyone uses them."),
	}
	_, signedIn := p.App.Session()
	switch {
	case !p.App.SessionChecked():
		content = append(content, app.P().Class("muted").ID("releases-loading").Text("Checking your session…"))
	case !signedIn:
		content = append(content,
			app.P().ID("releases-signin").Text("Sign in to publish or open releases."),
			&kit.SignInForm{App: p.App})
	default:
		if p.App.VaultState() != state.VaultUnlocked {
			content = append(content, app.P().Class("banner banner-warn").ID("releases-vault-locked").Body(
				app.Text("Your key vault is locked: "),
				app.A().Href("/keys").Text("unlock it on the Keys page"),
				app.Text(" to sign or open releases."),
			))
		}
		canPublish := p.App.Can(apiwire.PermPublish)
		canProduce := canPublish && p.App.Can(apiwire.PermProduction)
		if canPublish {
			// The list comes first; the sections below it are reached
			// from here without scrolling past it.
			links := []app.UI{app.A().ID("releases-goto-publish").Class("button btn-primary").Href("#publish").Text("Publish a release")}
			if canProduce {
				links = append(links, app.A().ID("releases-goto-production").Class("button btn-secondary").Href("#production").
					Text("Production packages"))
			}
			content = append(content, app.Nav().ID("releases-sections").Class("section-links").Aria("label", "Sections of this page").Body(links...))
		}
		if p.App.Can(apiwire.PermRead) {
			content = append(content, &releaseList{App: p.App, Reload: p.published, Show: p.lastProduct})
		} else {
			content = append(content, app.P().ID("releases-no-list").Class("muted").
				Text("Your role does not list releases; programming stations fetch the latest of their channel."))
		}
		var missing app.UI
		if !canPublish {
			missing = kit.RoleSection(p.App, "publish-role", "Publish a release", apiwire.PermPublish,
				"signing, encrypting and publishing releases")
		} else if !canProduce {
			missing = kit.RoleSection(p.App, "production-role", "Production packages", apiwire.PermProduction,
				"building production packages for programming stations")
		}
		if missing != nil {
			content = append(content, missing)
		}
		if canPublish {
			content = append(content, &publishForm{App: p.App, Draft: p.Draft, OnPublished: func(ctx app.Context, rel client.Release) {
				p.published++
				p.lastProduct = rel.Product
			}})
		}
		if canProduce {
			content = append(content, &productionPanel{App: p.App})
		}
	}
	return &kit.Layout{App: p.App, Active: "/releases", Title: "Releases", Content: content}
}
