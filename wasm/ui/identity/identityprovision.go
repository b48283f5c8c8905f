package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/pki"
	"trustforge/devices/provision"
	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
	"trustforge/wasm/link"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
)

// provisionPanel provisions the connected board in one guided flow, each
// step's result shown as it ends: read its info, check the registry,
// generate its identity key, get and check its certificate request, issue,
// install and verify the chain, fuse the boot key, fetch the encryption
// key, register and lock it.
type provisionPanel struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// Kit holds the link to the board.
	Kit *board.Kit
	// Profiles are the products' provisioning profiles.
	Profiles []pki.Profile
	// Unlocked says the vault (and so the CA's keys) is unlocked.
	Unlocked bool

	product  string
	bench    bool
	linkSt   link.Status
	running  bool
	runs     int // runs started, for drivers to wait on this run's outcome
	cancel   context.CancelFunc
	steps    map[provision.Step]provision.StepResult
	result   *provision.Result
	took     time.Duration
	err      string
	stopLink func()
	stopApp  func()

	// issuer is the chosen profile's issuer, prepared once (the
	// intermediate's key unsealed) and kept for the next boards while the
	// vault stays unlocked.
	issuer *pki.Issuer

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (p *provisionPanel) OnMount(ctx app.Context) {
	p.ui = ctx
	if !app.IsClient {
		return
	}
	p.linkSt = p.Kit.Link.Status()
	p.stopLink = p.Kit.Link.Subscribe(func() {
		ctx.Dispatch(func(app.Context) { p.linkSt = p.Kit.Link.Status() })
	})
	p.stopApp = p.App.Subscribe(func() {
		ctx.Dispatch(func(app.Context) {
			if p.App.VaultState() != state.VaultUnlocked {
				p.issuer = nil // the CA key goes with the vault's lock
			}
		})
	})
}

func (p *provisionPanel) OnDismount() {
	if p.stopLink != nil {
		p.stopLink()
	}
	if p.stopApp != nil {
		p.stopApp()
	}
	p.issuer = nil
	if p.cancel != nil {
		p.cancel()
	}
}

func (p *provisionPanel) profile() (pki.Profile, bool) {
	for _, pr := range p.Profiles {
		if pr.Product == p.product || p.product == "" {
			return pr, true
		}
	}
	return pki.Profile{}, false
}

func (p *provisionPanel) start(ctx app.Context, e app.Event) {
	ctx = p.ui
	e.PreventDefault()
	if p.running {
		return
	}
	profile, ok := p.profile()
	if !ok {
		p.err = "Choose a product."
		return
	}
	bench := p.bench
	issuer := p.issuer
	if issuer != nil && issuer.Profile() != profile {
		issuer = nil
	}
	rctx, cancel := context.WithCancel(context.Background())
	p.running, p.cancel, p.err, p.result = true, cancel, "", nil
	p.runs++
	p.steps = map[provision.Step]provision.StepResult{}
	ctx.Async(func() {
		defer cancel()
		start := time.Now()
		res, is, err := p.run(rctx, ctx, profile, issuer, bench)
		ctx.Dispatch(func(app.Context) {
			p.running, p.cancel, p.result, p.took = false, nil, res, time.Since(start)
			if is != nil && p.App.VaultState() == state.VaultUnlocked {
				p.issuer = is
			}
			if err != nil {
				p.err = kit.DescribeIdentity(err)
			}
			p.App.Touch()
		})
	})
}

// run gathers what the flow needs and runs it; it is called off the UI
// goroutine. It prepares the profile's issuer unless is is already one,
// counting the time in the console's share, and returns it.
func (p *provisionPanel) run(rctx context.Context, ctx app.Context, profile pki.Profile, is *pki.Issuer, bench bool) (*provision.Result, *pki.Issuer, error) {
	c, err := p.Kit.Link.Client()
	if err != nil {
		return nil, nil, err
	}
	if _, err := p.App.UnlockedVault(); err != nil {
		return nil, nil, err
	}
	var prepared time.Duration
	if is == nil {
		start := time.Now()
		a, err := p.App.Authority(rctx)
		if err != nil {
			return nil, nil, err
		}
		if is, err = a.Prepare(rctx, profile); err != nil {
			return nil, nil, err
		}
		prepared = time.Since(start)
	}
	plan := provision.Plan{CA: is, Profile: profile, OnStep: func(s provision.StepResult) {
		ctx.Dispatch(func(app.Context) { p.steps[s.Step] = s })
	}}
	if !bench {
		if !kit.CanRegistry(p.App, apiwire.PermProvision) {
			return nil, is, usererr.Errorf("provision", "sign in as an engineer or a station to register boards, or provision a bench board without the registry")
		}
		plan.Registry = p.App.API.Registry()
		if kit.CanRegistry(p.App, apiwire.PermKeys) {
			// The engineer provisioning the product's first board makes
			// this CA's root the product's trust anchor on the server
			// (audited there); a station cannot.
			if _, err := p.App.API.EnsureDeviceRoot(rctx, profile.Product, is.Root(), "registered from the Identity page while provisioning"); err != nil {
				return nil, is, usererr.Errorf("provision", "registering the device CA's root with %s: %w", profile.Product, err)
			}
		}
	}
	res, err := provision.Provision(rctx, provision.NewClient(c), plan)
	if res != nil {
		res.Console += prepared
	}
	return res, is, err
}

func (p *provisionPanel) stop(ctx app.Context, e app.Event) {
	if p.cancel != nil {
		p.cancel()
	}
}

func statusBadge(s provision.Status) string {
	switch s {
	case provision.Done:
		return "badge badge-ok"
	case provision.Failed:
		return "badge badge-bad"
	}
	return "badge"
}

func (p *provisionPanel) Render() app.UI {
	connected := p.linkSt.State == link.Connected
	ready := connected && p.Unlocked && !p.running
	return app.Section().ID("provision").Class("panel").Aria("label", "Provision a board").
		DataSet("runs", p.runs).DataSet("running", p.running).Body(
		app.H2().Text("Provision the connected board"),
		app.Form().ID("provision-form").Class("form-inline").OnSubmit(p.start).Body(
			kit.Pair(app.Label().For("provision-product").Text("Product"),
				app.Select().ID("provision-product").Class("from-server").DataSet("testid", "provision-product").
					OnChange(func(ctx app.Context, e app.Event) { p.product = ctx.JSSrc().Get("value").String() }).
					Body(app.Range(p.Profiles).Slice(func(i int) app.UI {
						pr := p.Profiles[i].Product
						return app.Option().Value(pr).Selected(pr == p.product).Text(pr)
					}))),
			kit.Pair(app.Input().ID("provision-bench").DataSet("testid", "provision-bench").Type("checkbox").Checked(p.bench).
				OnChange(func(ctx app.Context, e app.Event) { p.bench = ctx.JSSrc().Get("checked").Bool() }),
				app.Label().For("provision-bench").Text("bench board: do not register (clones go undetected)")),
			app.Button().ID("provision-start").DataSet("testid", "provision-start").Class("btn-primary").Type("submit").Disabled(!ready).Text("Provision"),
			app.If(p.running, func() app.UI {
				return app.Button().ID("provision-cancel").Type("button").Class("btn-ghost").OnClick(p.stop).Text("Cancel")
			}),
		),
		app.If(!connected, func() app.UI {
			return app.P().Class("muted").ID("provision-hint").Text("Connect a board above first.")
		}),
		app.If(connected && !p.Unlocked, func() app.UI {
			return app.P().Class("muted").ID("provision-hint").Text("Unlock the vault: the CA's keys issue the board's certificate.")
		}),
		app.If(len(p.steps) > 0, func() app.UI {
			return app.Ol().ID("provision-steps").Class("steps").Body(app.Range(provision.Steps()).Slice(func(i int) app.UI {
				st := provision.Steps()[i]
				r, seen := p.steps[st]
				status := "pending"
				if seen {
					status = string(r.Status)
				}
				took := ""
				if r.Took > 0 {
					took = fmt.Sprintf(" (%d ms)", r.Took.Milliseconds())
				}
				return app.Li().ID("provision-step-"+string(st)).DataSet("testid", "provision-step").DataSet("step", string(st)).
					DataSet("status", status).Body(
					app.Span().Class(statusBadge(r.Status)).Text(status),
					app.Text(" "+st.Title()+took),
					app.If(r.Detail != "", func() app.UI { return app.Div().Class("muted").Text(r.Detail) }),
				)
			}))
		}),
		app.If(p.result != nil && p.err == "" && !p.running, func() app.UI {
			r := p.result
			return app.P().ID("provision-result").DataSet("testid", "provision-result").DataSet("run", p.runs).DataSet("device", r.Info.ID).
				DataSet("console-ms", fmt.Sprintf("%.1f", float64(r.Console.Microseconds())/1000)).
				DataSet("board-ms", fmt.Sprintf("%.1f", float64(r.Board.Microseconds())/1000)).
				Class("ok").Aria("live", "polite").
				Text(fmt.Sprintf("Device %s provisioned in %d ms: board and link %d ms, this console %d ms, server %d ms.",
					r.Info.ID, p.took.Milliseconds(), r.Board.Milliseconds(), r.Console.Milliseconds(), r.Server.Milliseconds()))
		}),
		app.If(p.err != "", func() app.UI {
			return app.P().ID("provision-error").DataSet("testid", "provision-error").DataSet("run", p.runs).Class("error").Aria("live", "assertive").Text(p.err)
		}),
	)
}
