// Package identity is the console's Identity page: the device CA held in
// the browser, the products' provisioning profiles (with the ESP32 variant),
// guided provisioning of a connected board, the device registry and the
// products' trust anchors. It uses board's connection and ESP32 panels.
package identity

import (
	"errors"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/pki"
	"trustforge/crypto/vault"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
)

// Page is the Identity section: the device CA this browser holds
// (root and per-product intermediates, their keys in the vault), the
// products' provisioning profiles, the guided provisioning of the
// connected board, and the server's device registry.
type Page struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// Kit holds the link to the board, shared with the Devices page.
	Kit *board.Kit

	cas         []pki.CAInfo
	profiles    []pki.Profile
	signKeys    []vault.Info
	loadErr     string
	loaded      bool // the CA, profiles and keys were read once the vault was known
	unsubscribe func()

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (p *Page) OnNav(ctx app.Context) { ctx.Page().SetTitle("Identity · trustforge") }

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

// reload reads the hierarchy, the profiles and the vault's signing keys
// off the UI goroutine.
func (p *Page) reload(ctx app.Context) {
	ctx = p.ui
	// What was read before the vault was looked at is not the page yet.
	known := p.App.VaultState() != state.VaultLoading
	ctx.Async(func() {
		var (
			cas      []pki.CAInfo
			profiles []pki.Profile
			signKeys []vault.Info
		)
		a, err := p.App.Authority(ctx)
		if err == nil {
			cas, err = a.CAs(ctx)
		}
		if err == nil {
			profiles, err = a.Profiles(ctx)
		}
		if v, verr := p.App.Vault(); verr == nil && err == nil {
			var infos []vault.Info
			if infos, err = v.List(ctx); err == nil {
				for _, i := range infos {
					if i.Algorithm.CanSign() {
						signKeys = append(signKeys, i)
					}
				}
			}
		}
		ctx.Dispatch(func(app.Context) {
			p.cas, p.profiles, p.signKeys, p.loadErr = cas, profiles, signKeys, ""
			p.loaded = p.loaded || known
			if err != nil && !errors.Is(err, vault.ErrNoVault) {
				p.loadErr = kit.Describe(err)
			}
		})
	})
}

// changed is called by the panels after they change the hierarchy or the
// profiles.
func (p *Page) changed(ctx app.Context) {
	p.App.Touch()
	p.reload(ctx)
}

func (p *Page) Render() app.UI {
	vs := p.App.VaultState()
	hasVault := vs == state.VaultLocked || vs == state.VaultUnlocked
	unlocked := vs == state.VaultUnlocked
	hasRoot := len(p.cas) > 0 && p.cas[0].Kind == pki.KindRoot
	var mcuboot []pki.Profile // the profiles of boards provisioned over SMP
	for _, pr := range p.profiles {
		if pr.Board == pki.BoardMCUboot {
			mcuboot = append(mcuboot, pr)
		}
	}
	return &kit.Layout{
		App:    p.App,
		Active: "/identity",
		Title:  "Identity",
		Content: []app.UI{
			app.P().Class("lead").Text("Device identities: a certificate authority you hold in this browser, and keys born on each board. " +
				"The CA's keys stay in your vault; the boards' private keys never leave the boards."),
			&kit.VaultPanel{App: p.App},
			// The panels that come and go as the CA and profiles load
			// share one element, so the registry below keeps its place
			// (and its search field its element) while they do.
			kit.Room(app.Div().ID("identity-setup"), "identity-setup", p.loaded).Body(p.setupPanels(hasVault, hasRoot, unlocked, mcuboot)...),
			&registryPanel{App: p.App},
		},
	}
}

// setupPanels are the Identity page's panels that depend on what has been
// set up: the CA, its trust anchors, the profiles and provisioning.
func (p *Page) setupPanels(hasVault, hasRoot, unlocked bool, mcuboot []pki.Profile) []app.UI {
	if !p.loaded {
		return nil // the room holds their place until they are read
	}
	return []app.UI{
		app.If(p.loadErr != "", func() app.UI {
			return app.P().Class("error").ID("identity-load-error").Text(p.loadErr)
		}),
		app.If(hasVault, func() app.UI {
			return &caPanel{App: p.App, CAs: p.cas, Unlocked: unlocked, OnChange: p.changed}
		}),
		app.If(hasRoot, func() app.UI {
			return &anchorsPanel{App: p.App, CAs: p.cas}
		}),
		app.If(hasRoot, func() app.UI {
			return &profilePanel{App: p.App, CAs: p.cas, Profiles: p.profiles, SignKeys: p.signKeys, OnChange: p.changed}
		}),
		app.If(len(mcuboot) > 0, func() app.UI {
			return app.Div().Body(
				&board.ConnectPanel{Kit: p.Kit},
				&provisionPanel{App: p.App, Kit: p.Kit, Profiles: mcuboot, Unlocked: unlocked},
			)
		}),
		app.If(len(mcuboot) < len(p.profiles), func() app.UI {
			return app.P().ID("identity-esp32-hint").Class("muted").Body(
				app.Text("ESP32 boards are provisioned with their profile from the "),
				app.A().Href("/devices#esp").Text("Devices page's ESP32 panel"),
				app.Text(": each eFuse step is confirmed there, and the board is recorded below with its MAC and eFuse state."),
			)
		}),
	}
}
