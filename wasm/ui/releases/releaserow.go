package releases

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/internal/apiwire"
	"trustforge/wasm/release"
	"trustforge/wasm/ui/kit"
)

// This file renders the release list.

func (l *releaseList) channels() []string {
	for _, p := range l.products {
		if p.Name == l.product {
			return p.Channels
		}
	}
	return nil
}

func (l *releaseList) row(c release.Checked) app.UI {
	r := c.Release
	slug := r.ID
	if len(slug) > 16 {
		slug = slug[:16]
	}
	verified := c.Verified()
	var badge app.UI
	switch {
	case verified:
		badge = app.Span().Class("badge badge-ok").ID("release-verified-" + slug).Title("signed manifest verified in this browser").Text("✓ verified")
	case r.Yanked != nil:
		badge = app.Span().Class("badge badge-muted").Text("not checked (yanked)")
	default:
		badge = app.Span().Class("badge badge-bad").ID("release-unverified-" + slug).Title(kit.Describe(c.Err)).Text("✗ " + kit.Describe(c.Err))
	}
	signer := c.Signer
	if signer == "" {
		signer = r.Signer
	}
	if len(signer) > 16 {
		signer = signer[:16]
	}
	offers := ""
	for i, o := range r.Offers {
		if i > 0 {
			offers += ", "
		}
		offers += o.Channel
	}
	state_ := "offered"
	if r.Yanked != nil {
		state_ = "yanked: " + r.Yanked.Reason
	} else if len(r.Offers) > 1 {
		state_ = "promoted"
	}
	busy := l.busy[r.ID]
	var actions []app.UI
	btn := func(id, label, title string, h app.EventHandler) app.HTMLButton {
		// The accessible name starts with the visible label (WCAG 2.5.3);
		// the title says more.
		return app.Button().ID(id+"-"+slug).DataSet("testid", id).Class("btn-small").Title(title).Aria("label", label+" "+r.Version).
			Disabled(busy).Text(label).OnClick(h, app.EventScope(r.ID))
	}
	if r.Yanked == nil {
		if l.App.Can(apiwire.PermDownload) && verified {
			actions = append(actions,
				btn("release-open", "Open", "Decrypt "+r.Version+" with your vault and save the image",
					func(ctx app.Context, e app.Event) { l.open(ctx, c) }),
				btn("release-download", "Download", "Save the encrypted bundle of "+r.Version,
					func(ctx app.Context, e app.Event) { l.download(ctx, c) }))
		}
		if l.App.Can(apiwire.PermPromote) {
			var opts []app.UI
			opts = append(opts, app.Option().Value("").Text("promote to…"))
			for _, ch := range l.channels() {
				if !r.OfferedOn(ch) {
					opts = append(opts, app.Option().Value(ch).Selected(l.promoteTo[r.ID] == ch).Text(ch))
				}
			}
			if len(opts) > 1 {
				id := r.ID
				actions = append(actions, app.Span().Class("inline-group").Body(
					app.Select().ID("release-promote-to-"+slug).DataSet("testid", "release-promote-to").Aria("label", "Channel to promote "+r.Version+" to").
						OnChange(func(ctx app.Context, e app.Event) { l.promoteTo[id] = ctx.JSSrc().Get("value").String() }, app.EventScope(id)).Body(opts...),
					btn("release-promote", "Promote", "Offer "+r.Version+" on the chosen channel",
						func(ctx app.Context, e app.Event) { l.promote(ctx, c) })))
			}
		}
		if l.App.Can(apiwire.PermYank) {
			id := r.ID
			actions = append(actions, app.Span().Class("danger-apart inline-group").Body(
				app.Input().ID("release-yank-reason-"+slug).DataSet("testid", "release-yank-reason").Type("text").
					Placeholder("reason to yank").Aria("label", "Reason to yank "+r.Version).
					OnInput(func(ctx app.Context, e app.Event) { l.yankReason[id] = ctx.JSSrc().Get("value").String() }, app.EventScope(id)),
				btn("release-yank", "Yank", "Withdraw "+r.Version, func(ctx app.Context, e app.Event) { l.yank(ctx, c) }).Class("btn-danger")))
		}
	}
	if p, ok := l.progress[r.ID]; ok {
		actions = append(actions, &kit.ProgressBar{ID: "release-progress-" + slug, Label: "Downloading", Done: p[0], Total: p[1]})
	}
	return app.Tr().ID("release-"+slug).DataSet("testid", "release-row").DataSet("release", r.ID).
		DataSet("version", r.Version).DataSet("channels", offers).DataSet("verified", kit.BoolText(verified)).DataSet("yanked", kit.BoolText(r.Yanked != nil)).Body(
		app.Td().DataSet("label", "Version").Body(app.Strong().Text(r.Version)),
		app.Td().DataSet("label", "Counter").Text(uintText(r.SecurityCounter)),
		app.Td().DataSet("label", "Channels").Text(offers),
		app.Td().DataSet("label", "Signer").Body(app.Code().Class("fingerprint").Title(c.Signer).Text(signer)),
		app.Td().DataSet("label", "Signature").Body(badge),
		app.Td().DataSet("label", "State").Text(state_),
		kit.ActionsCell(actions...).DataSet("label", "Actions"),
	)
}

func uintText(n uint64) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{digits[n%10]}, b...)
	}
	return string(b)
}

func (l *releaseList) Render() app.UI {
	chans := l.channels()
	if l.productsIn && len(l.products) == 0 {
		return app.Section().ID("release-list").Class("panel").Aria("label", "Releases").Body(
			app.H2().Text("Releases"), kit.NoProduct("releases-no-product", "list"))
	}
	return app.Section().ID("release-list").Class("panel").Aria("label", "Releases").Body(
		app.H2().Text("Releases"),
		app.Div().Class("form-inline").Body(
			kit.Pair(app.Label().For("list-product").Text("Product"),
				app.Select().ID("list-product").Class("from-server").DataSet("testid", "list-product").
					OnChange(func(ctx app.Context, e app.Event) {
						l.product, l.channel = ctx.JSSrc().Get("value").String(), ""
						l.load(ctx)
					}).Body(app.Range(l.products).Slice(func(n int) app.UI {
					p := l.products[n]
					return app.Option().Value(p.Name).Selected(p.Name == l.product).Text(p.Name)
				}))),
			kit.Pair(app.Label().For("list-channel").Text("Channel"),
				app.Select().ID("list-channel").Class("from-server").DataSet("testid", "list-channel").
					OnChange(func(ctx app.Context, e app.Event) {
						l.channel = ctx.JSSrc().Get("value").String()
						l.load(ctx)
					}).Body(
					app.Option().Value("").Selected(l.channel == "").Text("all channels"),
					app.Range(chans).Slice(func(n int) app.UI {
						return app.Option().Value(chans[n]).Selected(chans[n] == l.channel).Text(chans[n])
					}),
				)),
			app.Button().ID("list-refresh").DataSet("testid", "list-refresh").Class("btn-small btn-ghost").Text("Refresh").
				OnClick(func(ctx app.Context, e app.Event) { l.load(ctx) }),
			// Always in the page, hidden when idle, and beside the
			// controls: an element that came and went above the table
			// would shift it, and go-app would then replace the table (and
			// the button being clicked) on every load.
			app.Span().ID("releases-loading-list").Class("muted").Hidden(!l.loading).Aria("live", "polite").Text("Loading and verifying…"),
		),
		// A room (kit.Room): the rows' height is held while they load. The
		// table comes with its first rows, so nothing in the room moves.
		// In a narrow panel (a laptop's half screen) each row is a card
		// whose cells are labelled (table-cards, console.css), so a
		// release's state and actions are in view, not behind a scroll.
		kit.Room(app.Div().ID("releases-rows"), "releases", !l.loading && (l.loads > 0 || l.err != "")).Body(
			app.If(len(l.rows) == 0 && !l.loading, func() app.UI {
				return app.P().ID("releases-empty").Class("muted").Text("No releases yet.")
			}).ElseIf(len(l.rows) > 0, func() app.UI {
				return app.Table().ID("releases-table").Class("table table-cards").DataSet("loaded", kit.BoolText(!l.loading)).Body(
					app.THead().Body(app.Tr().Body(
						app.Th().Text("Version"), app.Th().Text("Counter"), app.Th().Text("Channels"), app.Th().Text("Signer"),
						app.Th().Text("Signature"), app.Th().Text("State"), app.Th().Text("Actions"),
					)),
					app.TBody().Body(app.Range(l.rows).Slice(func(n int) app.UI { return l.row(l.rows[n]) })),
				)
			}),
		),
		app.If(l.msg != "", func() app.UI {
			return app.P().ID("releases-message").DataSet("testid", "releases-message").Class("ok").Aria("live", "polite").Text(l.msg)
		}),
		app.If(l.err != "", func() app.UI {
			return app.P().ID("releases-error").DataSet("testid", "releases-error").Class("error").Aria("live", "assertive").Text(l.err)
		}),
	)
}
