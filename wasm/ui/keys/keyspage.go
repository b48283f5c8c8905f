// Package keys is the console's Keys page: the browser's key vault, its
// signing and encryption keys generated or imported, listed, exported and
// backed up.
package keys

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/vault"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// Page is the Keys section: the browser key vault. It lists the
// vault's keys (readable while locked) and offers generating, importing,
// exporting, backing up and registering them while it is unlocked.
type Page struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	infos       []vault.Info
	loadErr     string
	unsubscribe func()

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (p *Page) OnNav(ctx app.Context) { ctx.Page().SetTitle("Keys · trustforge") }

func (p *Page) OnMount(ctx app.Context) {
	p.ui = ctx
	if !app.IsClient {
		return
	}
	p.unsubscribe = kit.Follow(ctx, p.App, p.reload)
	p.reload(ctx)
}

func (p *Page) OnDismount() {
	if p.unsubscribe != nil {
		p.unsubscribe()
	}
}

// reload reads the key list off the UI goroutine.
func (p *Page) reload(ctx app.Context) {
	ctx = p.ui
	ctx.Async(func() {
		v, err := p.App.Vault()
		if err != nil {
			ctx.Dispatch(func(app.Context) { p.infos = nil })
			return
		}
		infos, err := v.List(ctx)
		ctx.Dispatch(func(app.Context) {
			p.infos, p.loadErr = infos, ""
			if err != nil {
				p.loadErr = kit.Describe(err)
			}
		})
	})
}

func (p *Page) Render() app.UI {
	vs := p.App.VaultState()
	unlocked := vs == state.VaultUnlocked
	hasVault := vs == state.VaultLocked || unlocked
	return &kit.Layout{
		App:    p.App,
		Active: "/keys",
		Title:  "Keys",
		Content: []app.UI{
			app.P().Class("lead").Text("Signing and encryption keys, sealed with your passphrase in this browser. " +
				"Private keys never leave it: only public keys and sealed backups do."),
			&kit.VaultPanel{App: p.App},
			app.If(p.loadErr != "", func() app.UI {
				return app.P().Class("error").ID("keys-load-error").Text(p.loadErr)
			}),
			app.If(hasVault, func() app.UI {
				return &keyList{App: p.App, Infos: p.infos, Unlocked: unlocked}
			}),
			app.If(unlocked, func() app.UI {
				return app.Div().Class("grid2").Body(
					&keyGenerator{App: p.App},
					&keyImporter{App: p.App},
				)
			}),
			app.If(unlocked, func() app.UI { return &backupPanel{App: p.App} }),
		},
	}
}
