package admin

import (
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/internal/apiwire"
	"trustforge/wasm/client"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// adminProducts lists the products with their channels, creates products
// and adds channels. The per-product channel inputs are kept by product
// name, and handlers read the product from the element's data-product.
type adminProducts struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	products []client.Product
	keys     map[string][]client.Key // product → its signing keys
	loaded   bool
	busy     bool
	msg, err string

	name, description string
	channels          string
	newChannel        map[string]string // product → channel being typed
	gen               int               // numbers loads: only the latest one's answer is shown
	ui                app.Context       // the component's context (see adminAccounts.ui)
}

func (p *adminProducts) OnMount(ctx app.Context) {
	p.ui = ctx
	p.channels = "beta, stable"
	p.newChannel = map[string]string{}
	p.load(ctx)
}

func (p *adminProducts) load(ctx app.Context) {
	ctx = p.ui // set at mount, before the first load
	p.gen++
	gen := p.gen
	ctx.Async(func() {
		ps, err := p.App.API.Products(ctx)
		keys := map[string][]client.Key{}
		for _, pr := range ps {
			if err != nil {
				break
			}
			keys[pr.Name], err = p.App.API.Keys(ctx, pr.Name)
		}
		ctx.Dispatch(func(app.Context) {
			if gen != p.gen {
				return // a later load is on its way
			}
			p.loaded = true
			if err != nil {
				p.err = kit.Describe(err)
				return
			}
			p.products, p.keys = ps, keys
		})
	})
}

func (p *adminProducts) done(ctx app.Context, msg string, err error) {
	p.busy = false
	if err != nil {
		p.msg, p.err = "", kit.Describe(err)
		return
	}
	p.msg, p.err = msg, ""
	p.load(ctx)
}

// splitChannels reads a comma- or space-separated list of channel names.
func splitChannels(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (p *adminProducts) create(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if p.busy {
		return
	}
	name, desc, chans := strings.TrimSpace(p.name), strings.TrimSpace(p.description), splitChannels(p.channels)
	p.busy, p.msg, p.err = true, "", ""
	ctx = p.ui // outlives the element the event came from
	ctx.Async(func() {
		pr, err := p.App.API.CreateProduct(ctx, name, desc, chans)
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil {
				p.name, p.description = "", ""
			}
			next := " Engineers register their signing keys with it on the Keys page."
			if p.App.Can(apiwire.PermKeys) && p.App.Can(apiwire.PermPublish) {
				next = " Next: register your signing key with it on the Keys page."
			}
			p.done(ctx, "Created product "+pr.Name+" with channels "+strings.Join(pr.Channels, ", ")+"."+next, err)
		})
	})
}

func (p *adminProducts) typeChannel(ctx app.Context, e app.Event) {
	p.newChannel[kit.TargetData(ctx, "product")] = ctx.JSSrc().Get("value").String()
}

func (p *adminProducts) addChannel(ctx app.Context, e app.Event) {
	e.PreventDefault()
	product := kit.TargetData(ctx, "product")
	channel := strings.TrimSpace(p.newChannel[product])
	if channel == "" {
		p.err = "Type the new channel's name first."
		return
	}
	p.busy, p.msg, p.err = true, "", ""
	ctx = p.ui // outlives the element the event came from
	ctx.Async(func() {
		_, err := p.App.API.AddChannel(ctx, product, channel)
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil {
				delete(p.newChannel, product)
			}
			p.done(ctx, "Added channel "+channel+" to "+product+".", err)
		})
	})
}

// revokeKey revokes the signing key named by the button's data-product
// and data-fingerprint.
func (p *adminProducts) revokeKey(ctx app.Context, e app.Event) {
	product, fp := kit.TargetData(ctx, "product"), kit.TargetData(ctx, "fingerprint")
	p.busy, p.msg, p.err = true, "", ""
	ctx = p.ui // outlives the element the event came from
	ctx.Async(func() {
		err := p.App.API.RevokeKey(ctx, product, fp)
		ctx.Dispatch(func(ctx app.Context) {
			p.done(ctx, "Revoked key "+fp[:min(16, len(fp))]+"… of "+product+": the server accepts no new release it signs.", err)
		})
	})
}

// keyTable lists a product's signing keys with a revoke button each.
func (p *adminProducts) keyTable(product string) app.UI {
	ks := p.keys[product]
	if len(ks) == 0 {
		return app.Span().Class("muted").Text("none yet: an engineer registers one on the Keys page")
	}
	return app.Ul().Class("key-list").Body(app.Range(ks).Slice(func(i int) app.UI {
		k := ks[i]
		label := k.Algorithm + " " + k.Fingerprint[:min(16, len(k.Fingerprint))] + "…"
		if k.Comment != "" {
			label += " (" + k.Comment + ")"
		}
		return app.Li().Body(
			app.Code().Title(k.Fingerprint).Text(label),
			app.Span().Class("muted").Text(" by "+k.AddedBy+" "),
			app.If(k.Revoked != nil, func() app.UI {
				return app.Span().Class("badge badge-muted").Text("revoked")
			}).Else(func() app.UI {
				return app.Button().Type("button").Class("btn-small btn-danger").DataSet("product", product).
					DataSet("fingerprint", k.Fingerprint).Aria("label", "Revoke signing key "+label+" of "+product).
					Disabled(p.busy).Text("Revoke").OnClick(p.revokeKey)
			}),
		)
	}))
}

func (p *adminProducts) Render() app.UI {
	products := p.products
	return app.Section().ID("products").Class("panel").Aria("labelledby", "admin-products-title").Body(
		app.Div().Class("section-head").Body(
			app.H2().ID("admin-products-title").Text("Products and channels"),
			app.Button().ID("admin-products-refresh").Type("button").Class("btn-small btn-secondary").Disabled(p.busy).
				Text("Refresh").OnClick(func(ctx app.Context, e app.Event) { p.msg, p.err = "", ""; p.load(p.ui) }),
		),
		app.P().Class("hint").Text("A product is a kind of board. Its releases are published to channels (say beta, then stable); "+
			"technicians and stations take a channel's newest release."),
		app.If(p.msg != "", func() app.UI {
			return app.P().ID("admin-products-message").Class("ok").Aria("live", "polite").Text(p.msg)
		}),
		app.If(p.err != "", func() app.UI {
			return app.P().ID("admin-products-error").Class("error").Aria("live", "assertive").Text(p.err)
		}),
		app.If(!p.loaded, func() app.UI { return app.P().Class("muted").Text("Loading products…") }),
		app.If(p.loaded && len(products) == 0, func() app.UI {
			return app.P().ID("admin-no-products").Class("muted").Text("No product yet: create the first one below.")
		}),
		app.If(len(products) > 0, func() app.UI {
			return app.Table().Class("table").ID("admin-products").Body(
				app.THead().Body(app.Tr().Body(
					app.Th().Scope("col").Text("Product"),
					app.Th().Scope("col").Text("Channels"),
					app.Th().Scope("col").Text("Signing keys"),
					app.Th().Scope("col").Text("Add a channel"),
				)),
				app.TBody().Body(app.Range(products).Slice(func(i int) app.UI {
					pr := products[i]
					id := "admin-channel-" + pr.Name
					return app.Tr().DataSet("product", pr.Name).Body(
						app.Th().Scope("row").Body(app.Text(pr.Name), app.If(pr.Description != "", func() app.UI {
							return app.Div().Class("muted").Text(pr.Description)
						})),
						app.Td().Text(strings.Join(pr.Channels, ", ")),
						app.Td().Body(p.keyTable(pr.Name)),
						app.Td().Body(app.Form().Class("form-inline").DataSet("product", pr.Name).OnSubmit(p.addChannel).Body(
							app.Label().For(id).Class("visually-hidden").Text("New channel for "+pr.Name),
							app.Input().ID(id).Type("text").Size(12).Placeholder("channel").Attr("autocomplete", "off").
								DataSet("product", pr.Name).Value(p.newChannel[pr.Name]).OnInput(p.typeChannel),
							app.Button().Type("submit").Class("btn-small btn-secondary").Disabled(p.busy).
								Aria("label", "Add the channel to "+pr.Name).Text("Add"),
						)),
					)
				})),
			)
		}),
		app.Form().ID("admin-create-product").Class("form subpanel").Aria("label", "Create a product").OnSubmit(p.create).Body(
			app.H3().Text("Create a product"),
			app.Label().For("admin-product-name").Text("Product name"),
			app.Input().ID("admin-product-name").Type("text").Required(true).Attr("autocomplete", "off").
				Placeholder("e.g. thermo-v2").Value(p.name).
				OnInput(func(ctx app.Context, e app.Event) { p.name = ctx.JSSrc().Get("value").String() }),
			app.Label().For("admin-product-description").Text("Description (optional)"),
			app.Input().ID("admin-product-description").Type("text").Attr("autocomplete", "off").Value(p.description).
				OnInput(func(ctx app.Context, e app.Event) { p.description = ctx.JSSrc().Get("value").String() }),
			app.Label().For("admin-product-channels").Text("Channels, separated by commas"),
			app.Input().ID("admin-product-channels").Type("text").Attr("autocomplete", "off").Value(p.channels).
				OnInput(func(ctx app.Context, e app.Event) { p.channels = ctx.JSSrc().Get("value").String() }),
			app.Div().Class("form-actions").Body(
				app.Button().ID("admin-create-product-submit").Type("submit").Disabled(p.busy).Text("Create product"),
			),
		),
	)
}
