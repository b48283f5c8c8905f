package security

import (
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/internal/apiwire"
	"trustforge/internal/stride"
	"trustforge/wasm/client"
	"trustforge/wasm/guide"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// securityPage is the Security plan section: the STRIDE model of a
// product (internal/stride), each threat with its live status computed
// from the product's configuration, exportable as Markdown and printable.
type Page struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	products    []client.Product
	product     string
	plan        *stride.Plan
	loading     bool
	err         string
	msg         string
	gen         int // bumps with each load, so a stale answer is dropped
	unsubscribe func()

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (p *Page) OnNav(ctx app.Context) { ctx.Page().SetTitle("Security plan · trustforge") }

func (p *Page) OnMount(ctx app.Context) {
	p.ui = ctx
	if !app.IsClient {
		return
	}
	if q := ctx.Page().URL().Query().Get("product"); q != "" {
		p.product = q
	}
	p.unsubscribe = p.App.Subscribe(func() {
		ctx.Dispatch(func(ctx app.Context) {
			if _, ok := p.App.Session(); ok && len(p.products) == 0 && !p.loading {
				p.loadProducts(ctx)
			}
		})
	})
	if _, ok := p.App.Session(); ok {
		p.loadProducts(ctx)
	}
}

func (p *Page) OnDismount() {
	if p.unsubscribe != nil {
		p.unsubscribe()
	}
}

func (p *Page) loadProducts(ctx app.Context) {
	ctx = p.ui
	if !p.App.Can(apiwire.PermRead) {
		return
	}
	p.loading = true
	ctx.Async(func() {
		ps, err := p.App.API.Products(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			p.loading = false
			if err != nil {
				p.err = kit.Describe(err)
				return
			}
			p.products = ps
			if p.product == "" && len(ps) > 0 {
				p.product = ps[0].Name
			}
			p.load(ctx)
		})
	})
}

// load gathers the facts of the chosen product and evaluates its plan.
func (p *Page) load(ctx app.Context) {
	ctx = p.ui
	if p.product == "" {
		return
	}
	p.gen++
	gen, product := p.gen, p.product
	p.loading, p.err, p.msg = true, "", ""
	ctx.Async(func() {
		facts, err := securityFacts(ctx, p.App, product)
		plan := stride.Evaluate(facts, time.Now())
		ctx.Dispatch(func(app.Context) {
			if gen != p.gen {
				return
			}
			p.loading, p.plan = false, plan
			if err != nil {
				p.err = "Some facts could not be read, and show as unknown: " + kit.Describe(err)
			}
		})
	})
}

func (p *Page) export(ctx app.Context, e app.Event) {
	if p.plan == nil {
		return
	}
	name := "security-plan-" + p.plan.Product + ".md"
	if err := kit.SaveFile(name, "text/markdown", []byte(p.plan.Markdown())); err != nil {
		p.err = kit.Describe(err)
		return
	}
	p.msg = "Saved " + name + "."
}

func (p *Page) Render() app.UI {
	content := []app.UI{
		app.P().Class("lead").Text("The STRIDE model your product follows: each threat to the device and its update path, " +
			"the mitigation trustforge provides, and its status computed now from the product's actual configuration."),
	}
	_, signedIn := p.App.Session()
	switch {
	case !p.App.SessionChecked():
		content = append(content, app.P().Class("muted").ID("security-loading").Text("Checking your session…"))
	case !signedIn:
		content = append(content, app.P().ID("security-signin").Text("Sign in to see your products' security plans."), &kit.SignInForm{App: p.App})
	case !p.App.Can(apiwire.PermRead):
		content = append(content, app.P().ID("security-no-read").Class("muted").
			Text("Your role does not read the products' configuration. docs/threat-model.md describes how trustforge itself is protected."))
	default:
		content = append(content, p.toolbar())
		if p.err != "" {
			content = append(content, app.P().Class("error").ID("security-error").Aria("live", "assertive").Text(p.err))
		}
		if p.msg != "" {
			content = append(content, app.P().Class("ok").ID("security-message").Aria("live", "polite").Text(p.msg))
		}
		if p.plan != nil {
			content = append(content, &planView{Plan: p.plan, Loading: p.loading})
		} else if len(p.products) == 0 && !p.loading {
			content = append(content, app.P().Class("muted").ID("security-no-products").Text(guide.NoProduct(kit.ViewerOf(p.App))))
		}
	}
	return &kit.Layout{App: p.App, Active: "/security", Title: "Security plan", Content: content}
}

func (p *Page) toolbar() app.UI {
	return app.Div().Class("form-inline no-print").ID("security-toolbar").Body(
		kit.Pair(app.Label().For("security-product").Text("Product"),
			app.Select().ID("security-product").Class("from-server").DataSet("testid", "security-product").
				OnChange(func(ctx app.Context, e app.Event) {
					p.product = ctx.JSSrc().Get("value").String()
					p.load(ctx)
				}).Body(app.Range(p.products).Slice(func(i int) app.UI {
				pr := p.products[i]
				return app.Option().Value(pr.Name).Selected(pr.Name == p.product).Text(pr.Name)
			}))),
		app.Button().ID("security-refresh").DataSet("testid", "security-refresh").Class("btn-small btn-ghost").
			Disabled(p.loading).Text("Refresh").OnClick(func(ctx app.Context, e app.Event) { p.load(ctx) }),
		app.Button().ID("security-export").DataSet("testid", "security-export").Class("btn-small").
			Disabled(p.plan == nil).Title("Save the plan as Markdown").Text("Export Markdown").OnClick(p.export),
		app.Button().ID("security-print").DataSet("testid", "security-print").Class("btn-small btn-ghost").
			Disabled(p.plan == nil).Title("Print the plan").Text("Print").
			OnClick(func(ctx app.Context, e app.Event) { app.Window().Call("print") }),
	)
}

// planView renders a plan: the counts, then one section per category.
type planView struct {
	app.Compo

	// Plan is the evaluated plan.
	Plan *stride.Plan
	// Loading says a newer plan is being computed.
	Loading bool
}

func (v *planView) Render() app.UI {
	n := v.Plan.Count()
	source := "Provisioning profile: not known here (no device CA in this browser, no production package)."
	switch v.Plan.ProfileSource {
	case "console":
		source = "Provisioning profile: this browser's device CA."
	case "package":
		source = "Provisioning profile: the latest production package."
	}
	return app.Div().ID("security-plan").Class("stride").DataSet("product", v.Plan.Product).
		DataSet("loaded", kit.BoolText(!v.Loading)).DataSet("generated", v.Plan.Generated.Format(time.RFC3339Nano)).Body(
		app.Div().Class("stride-counts").ID("security-counts").Body(
			count("ok", stride.OK, n[stride.OK], "mitigated"),
			count("warn", stride.Warn, n[stride.Warn], "need attention"),
			count("risk", stride.Risk, n[stride.Risk], "at risk"),
			count("unknown", stride.Unknown, n[stride.Unknown], "unknown"),
		),
		app.P().Class("muted").ID("security-profile-source").Text(source+" Generated "+v.Plan.Generated.Local().Format("2006-01-02 15:04:05")+"."),
		app.Range(v.Plan.Sections).Slice(func(i int) app.UI { return section(v.Plan.Sections[i]) }),
	)
}

func count(id string, l stride.Level, n int, label string) app.UI {
	return app.Span().Class("stride-count level-"+string(l)).ID("security-count-"+id).DataSet("count", strconv.Itoa(n)).
		Text(l.Symbol() + " " + strconv.Itoa(n) + " " + label)
}

func section(s stride.Section) app.UI {
	id := "stride-" + string(s.Category)
	return app.Section().Class("panel stride-section").ID(id).DataSet("level", string(s.Level)).Aria("labelledby", id+"-title").Body(
		app.H2().ID(id+"-title").Body(
			app.Span().Class("level-"+string(s.Level)).Aria("label", string(s.Level)).Text(s.Level.Symbol()+" "),
			app.Text(s.Category.Title()),
			app.Span().Class("muted").Text(" · "+s.Category.Property()),
		),
		app.Table().Class("table stride-table").Body(
			app.THead().Body(app.Tr().Body(
				app.Th().Text("Threat"), app.Th().Text("Mitigation"), app.Th().Text("Status now"),
			)),
			app.TBody().Body(app.Range(s.Threats).Slice(func(i int) app.UI { return threatRow(s.Threats[i]) })),
		),
	)
}

func threatRow(t stride.Assessed) app.UI {
	st := t.Status
	return app.Tr().ID("threat-"+t.ID).DataSet("testid", "threat").DataSet("level", string(st.Level)).Body(
		app.Td().Class("stride-threat").Body(
			app.Strong().Text(t.ID+" "+t.Title),
			app.P().Class("muted").Text(t.Threat.Threat),
		),
		app.Td().Class("stride-mitigation").Text(t.Mitigation),
		app.Td().Class("stride-status level-"+string(st.Level)).Body(
			app.Span().ID("threat-"+t.ID+"-status").Text(st.Level.Symbol()+" "+st.Text),
			app.If(st.Action != "" && st.Level != stride.OK, func() app.UI {
				return app.P().Class("stride-action").Text("→ " + st.Action)
			}),
		),
	)
}
