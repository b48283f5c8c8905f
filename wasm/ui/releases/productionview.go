package releases

import (
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/production"
	"trustforge/wasm/client"
	"trustforge/wasm/ui/kit"
)

// This file renders the production panel.

func (f *productionPanel) Render() app.UI {
	var products, rels, signers [][2]string
	for _, p := range f.products {
		products = append(products, [2]string{p.Name, p.Name})
	}
	for _, c := range f.releases {
		rels = append(rels, [2]string{c.Release.ID, c.Release.Version + " (" + c.Release.Channel + ", " + c.Release.ID[:12] + "…)"})
	}
	for _, k := range f.signers {
		signers = append(signers, [2]string{k.ID, k.Name + " (" + string(k.Algorithm) + ", " + k.Fingerprint() + ")"})
	}
	modes := [][2]string{
		{string(production.ImageDevice), "encrypt the image to each board's own key"},
		{string(production.ImageClear), "program the image in the clear (factory programming)"},
	}
	if f.loaded && len(f.products) == 0 {
		return app.Section().ID("production").Class("panel").Aria("label", "Production packages").Body(
			app.H2().Text("Production packages"), kit.NoProduct("production-no-product", "produce"))
	}
	return app.Section().ID("production").Class("panel").Aria("label", "Production packages").Body(
		app.H2().Text("Production packages"),
		app.P().Class("muted").Text("Hand production to a programming station: the release, the provisioning profile and a batch CA whose key only "+
			"the station can open, an authorised count and an expiry. The station takes a ticket from the server before each device."),
		app.If(f.profile == nil && f.product != "", func() app.UI {
			return app.P().Class("banner banner-warn").ID("production-no-profile").
				Text("This browser's device CA has no provisioning profile for " + f.product + ": make one on the Identity page.")
		}),
		app.Form().ID("production-form").Class("form").OnSubmit(f.build).Body(
			f.selectField("production-product", "Product", f.product, products, func(ctx app.Context, v string) {
				f.product, f.mode = v, ""
				f.loadProduct(ctx)
			}),
			f.selectField("production-release", "Release", f.releaseID, rels, func(_ app.Context, v string) { f.releaseID = v }),
			app.Div().Class("form-inline").Body(
				f.textField("production-batch", "Batch", "e.g. 2026-03-line2", &f.batch),
				f.textField("production-count", "Authorised count", "devices", &f.count),
				f.textField("production-days", "Open for (days)", "14", &f.days),
			),
			f.selectField("production-mode", "Image", f.mode, modes, func(_ app.Context, v string) { f.mode = v }),
			app.FieldSet().ID("production-stations").Body(
				app.Legend().Text("Station (only it can open the package)"),
				app.If(len(f.stations) == 0, func() app.UI {
					return app.P().Class("muted").ID("production-no-station").
						Text("No station has published its recipient yet: sign in as the station and publish one from its vault.")
				}),
				app.Range(f.stations).Slice(func(i int) app.UI {
					s := f.stations[i]
					id := "production-station-" + s.User
					return app.Div().Class("field field-check").Body(
						app.Input().Type("checkbox").ID(id).DataSet("testid", "production-station").DataSet("user", s.User).
							Checked(f.chosen[s.Recipient]).OnChange(func(ctx app.Context, e app.Event) {
							f.chosen[s.Recipient] = ctx.JSSrc().Get("checked").Bool()
						}, app.EventScope(s.Recipient)),
						app.Label().For(id).Text(s.User+" ("+s.Recipient[:min(16, len(s.Recipient))]+"…)"),
					)
				}),
			),
			f.selectField("production-key", "Signed by", f.keyID, signers, func(_ app.Context, v string) { f.keyID = v }),
			f.textField("production-notes", "Notes for the line", "optional", &f.notes),
			f.dfuFields(),
			app.Div().Class("form-actions").Body(
				app.Button().Type("submit").ID("production-build").DataSet("testid", "production-build").Class("btn-primary").Disabled(f.running).
					Text("Build and upload package"),
				app.If(f.running, func() app.UI {
					return app.Button().Type("button").ID("production-cancel").Class("btn-ghost").Text("Cancel").
						OnClick(func(ctx app.Context, e app.Event) {
							if f.cancel != nil {
								f.cancel()
							}
						})
				}),
			),
		),
		app.If(f.running, func() app.UI {
			return app.P().ID("production-running").Class("muted").Aria("live", "polite").Text("Opening the release, making the batch CA, sealing and uploading…")
		}),
		app.If(f.result != nil, func() app.UI {
			return app.P().ID("production-result").DataSet("testid", "production-result").DataSet("package", f.result.ID).
				Class("ok").Aria("live", "polite").Text(f.msg)
		}),
		app.If(f.err != "", func() app.UI {
			return app.P().ID("production-error").DataSet("testid", "production-error").Class("error").Aria("live", "assertive").Text(f.err)
		}),
		packageTable(f.packages),
	)
}

func (f *productionPanel) textField(id, label, placeholder string, ptr *string) app.UI {
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		app.Input().ID(id).DataSet("testid", id).Type("text").Placeholder(placeholder).Value(*ptr).
			OnInput(func(ctx app.Context, e app.Event) { *ptr = ctx.JSSrc().Get("value").String() }, app.EventScope(id)),
	)
}

func (f *productionPanel) selectField(id, label, value string, opts [][2]string, onChange func(app.Context, string)) app.UI {
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		app.Select().ID(id).DataSet("testid", id).OnChange(func(ctx app.Context, e app.Event) {
			onChange(ctx, ctx.JSSrc().Get("value").String())
		}, app.EventScope(id)).Body(app.Range(opts).Slice(func(n int) app.UI {
			return app.Option().Value(opts[n][0]).Selected(opts[n][0] == value).Text(opts[n][1])
		})),
	)
}

// packageTable lists production packages with their counts.
func packageTable(pkgs []client.Package) app.UI {
	if len(pkgs) == 0 {
		return app.P().Class("muted").ID("production-packages-empty").Text("No production package for this product yet.")
	}
	return app.Table().ID("production-packages").Class("table").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Text("Batch"), app.Th().Text("Release"), app.Th().Text("Image"), app.Th().Text("Tickets"),
			app.Th().Text("Refused"), app.Th().Text("STM32 (USB DFU)"), app.Th().Text("Until"), app.Th().Text("State"),
		)),
		app.TBody().Body(app.Range(pkgs).Slice(func(i int) app.UI {
			p := pkgs[i]
			state := "closed"
			if p.Open {
				state = "open"
			}
			dfu, dfuRead := packageDFU(p)
			dfuText := dfuSummary(dfu)
			if !dfuRead {
				dfuText = "unknown"
			}
			return app.Tr().ID("package-"+p.ID[:16]).DataSet("testid", "package-row").DataSet("package", p.ID).
				DataSet("issued", strconv.Itoa(p.Issued)).DataSet("remaining", strconv.Itoa(p.Remaining)).
				DataSet("dfu-address", dfuAddressAttr(dfu)).DataSet("dfu-rdp", dfu.ReadOutProtection).Body(
				app.Td().Body(app.Strong().Text(p.Batch)),
				app.Td().Text(p.Version),
				app.Td().Text(p.ImageMode),
				app.Td().Text(strconv.Itoa(p.Issued)+" of "+strconv.Itoa(p.Count)),
				app.Td().Text(strconv.Itoa(p.Refused)),
				app.Td().Class("package-dfu").Text(dfuText),
				app.Td().Text(p.Expires.Local().Format(time.DateTime)),
				app.Td().Text(state),
			)
		})),
	)
}
