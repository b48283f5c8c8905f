package keys

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/vault"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// keyGenerator makes a new key in the vault.
type keyGenerator struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	alg      vault.Algorithm
	name     string
	busy     bool
	msg, err string

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (g *keyGenerator) OnMount(ctx app.Context) { g.ui = ctx }

func (g *keyGenerator) generate(ctx app.Context, e app.Event) {
	ctx = g.ui
	e.PreventDefault()
	if g.busy {
		return
	}
	alg := g.alg
	if alg == "" {
		alg = vault.Algorithms()[0]
	}
	name := g.name
	g.busy, g.msg, g.err = true, "", ""
	ctx = g.ui
	ctx.Async(func() {
		v, err := g.App.UnlockedVault()
		var info vault.Info
		if err == nil {
			info, err = v.Generate(ctx, alg, name)
		}
		ctx.Dispatch(func(app.Context) {
			g.busy = false
			if err != nil {
				g.err = kit.Describe(err)
				return
			}
			g.name = ""
			g.msg = "Generated " + info.Name + " (" + string(info.Algorithm) + ")."
			g.App.VaultChanged()
		})
	})
}

func (g *keyGenerator) Render() app.UI {
	return app.Form().ID("keygen").Class("panel form").Aria("label", "Generate a key").OnSubmit(g.generate).Body(
		app.H2().Text("Generate a key"),
		app.Label().For("keygen-alg").Text("Kind"),
		app.Select().ID("keygen-alg").DataSet("testid", "keygen-alg").
			OnChange(func(ctx app.Context, e app.Event) { g.alg = vault.Algorithm(ctx.JSSrc().Get("value").String()) }).
			Body(app.Range(vault.Algorithms()).Slice(func(n int) app.UI {
				a := vault.Algorithms()[n]
				return app.Option().Value(string(a)).Selected(a == g.alg).Text(string(a) + " — " + a.Use())
			})),
		app.Label().For("keygen-name").Text("Name"),
		app.Input().ID("keygen-name").DataSet("testid", "keygen-name").Type("text").Placeholder("e.g. thermo release key").
			Value(g.name).OnInput(func(ctx app.Context, e app.Event) { g.name = ctx.JSSrc().Get("value").String() }),
		app.Button().ID("keygen-submit").DataSet("testid", "keygen-submit").Class("btn-primary").Type("submit").Disabled(g.busy).Text("Generate"),
		app.If(g.msg != "", func() app.UI {
			return app.P().ID("keygen-message").DataSet("testid", "keygen-message").Class("ok").Aria("live", "polite").Text(g.msg)
		}),
		app.If(g.err != "", func() app.UI {
			return app.P().ID("keygen-error").DataSet("testid", "keygen-error").Class("error").Aria("live", "assertive").Text(g.err)
		}),
	)
}
