package admin

import (
	"sort"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/audit"
	"trustforge/wasm/client"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// auditPage is how many entries the audit log shows at a time.
const auditPage = 50

// adminAudit downloads the audit log, verifies its hash chain in this
// browser (independently of the server), lets the administrator browse and
// filter it, and saves the export.
type adminAudit struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	export client.AuditExport
	view   auditView
	loaded bool
	busy   bool
	err    string
	filter string
	shown  int
	gen    int         // numbers loads: only the latest one's answer is shown
	ui     app.Context // the component's context (see adminAccounts.ui)
}

func (a *adminAudit) OnMount(ctx app.Context) {
	a.ui = ctx
	a.load(ctx)
}

func (a *adminAudit) load(ctx app.Context) {
	ctx = a.ui // set at mount, before the first load
	a.busy, a.err = true, ""
	a.gen++
	gen := a.gen
	ctx.Async(func() {
		ex, err := a.App.API.Audit(ctx)
		var v auditView
		if err == nil {
			v = checkAudit(ex.Log, ex.Head)
		}
		ctx.Dispatch(func(app.Context) {
			if gen != a.gen {
				return // a later load is on its way
			}
			a.busy, a.loaded = false, true
			if err != nil {
				a.err = kit.Describe(err)
				return
			}
			a.export, a.view, a.shown = ex, v, auditPage
		})
	})
}

func (a *adminAudit) save(ctx app.Context, e app.Event) {
	if err := kit.SaveFile("trustforge-audit-"+strconv.FormatUint(a.view.Head.Seq, 10)+".jsonl", "application/x-ndjson", a.export.Log); err != nil {
		a.err = kit.Describe(err)
	}
}

// newestFirst returns the entries matching the filter, newest first.
func (a *adminAudit) newestFirst() []audit.Entry {
	var out []audit.Entry
	for _, e := range a.view.Entries {
		if auditMatches(e, a.filter) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq > out[j].Seq })
	return out
}

func (a *adminAudit) Render() app.UI {
	entries := a.newestFirst()
	more := len(entries) > a.shown
	if more {
		entries = entries[:a.shown]
	}
	statusClass := "badge badge-bad"
	if a.view.Intact {
		statusClass = "badge badge-ok"
	}
	return app.Section().ID("audit").Class("panel").Aria("labelledby", "admin-audit-title").Body(
		app.H2().ID("admin-audit-title").Text("Audit log"),
		app.P().Class("hint").Text("Every change on the server is one entry, hashed together with the one before, so an edited or removed entry "+
			"breaks the chain. This browser checks the chain itself; save an export and check it later with `trustforge audit verify FILE --head 'SEQ HASH'`."),
		app.Div().Class("form-inline").Body(
			app.Button().ID("admin-audit-reload").Type("button").Class("btn-secondary").Disabled(a.busy).
				Text(map[bool]string{true: "Checking…", false: "Reload and check"}[a.busy]).OnClick(func(ctx app.Context, e app.Event) { a.load(a.ui) }),
			app.Button().ID("admin-audit-save").Type("button").Class("btn-secondary").Disabled(!a.loaded || len(a.export.Log) == 0).
				Text("Save export (.jsonl)").OnClick(a.save),
			kit.Pair(app.Label().For("admin-audit-filter").Text("Filter"),
				app.Input().ID("admin-audit-filter").Type("search").Placeholder("user, action or subject").Value(a.filter).
					OnInput(func(ctx app.Context, e app.Event) { a.filter, a.shown = ctx.JSSrc().Get("value").String(), auditPage })),
		),
		app.If(a.err != "", func() app.UI {
			return app.P().ID("admin-audit-error").Class("error").Aria("live", "assertive").Text(a.err)
		}),
		app.If(a.loaded && a.err == "", func() app.UI {
			return app.P().ID("admin-audit-status").Aria("live", "polite").Body(
				app.Span().Class(statusClass).Text(map[bool]string{true: "chain intact", false: "chain broken"}[a.view.Intact]),
				app.Text(" "+a.view.Status),
			)
		}),
		app.If(len(entries) > 0, func() app.UI {
			return app.Table().Class("table table-compact table-cards").ID("admin-audit-entries").Body(
				app.THead().Body(app.Tr().Body(
					app.Th().Scope("col").Text("#"),
					app.Th().Scope("col").Text("When"),
					app.Th().Scope("col").Text("Who"),
					app.Th().Scope("col").Text("Action"),
					app.Th().Scope("col").Text("Subject"),
					app.Th().Scope("col").Text("Details"),
				)),
				app.TBody().Body(app.Range(entries).Slice(func(i int) app.UI {
					e := entries[i]
					actor := e.Actor
					if actor == "" {
						actor = "server"
					}
					return app.Tr().Body(
						app.Td().DataSet("label", "Entry").Text(strconv.FormatUint(e.Seq, 10)),
						app.Td().DataSet("label", "When").Text(e.Time.Local().Format("Jan 2 15:04:05")),
						app.Td().DataSet("label", "Who").Text(actor),
						app.Td().DataSet("label", "Action").Body(app.Code().Text(e.Action)),
						app.Td().DataSet("label", "Subject").Class("wrap").Title(e.Subject).Text(shorten(e.Subject, 20)),
						app.Td().DataSet("label", "Details").Class("details").Body(detailPairs(e.Detail)...),
					)
				})),
			)
		}),
		app.If(a.loaded && len(entries) == 0 && a.err == "", func() app.UI {
			return app.P().Class("muted").Text("No entry matches the filter.")
		}),
		app.If(more, func() app.UI {
			return app.Button().ID("admin-audit-more").Type("button").Class("btn-ghost").Text("Show older entries").
				OnClick(func(ctx app.Context, e app.Event) { a.shown += auditPage })
		}),
	)
}

// detailPairs shows an entry's details as sorted key=value pairs, each
// kept whole on a line.
func detailPairs(d map[string]string) []app.UI {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]app.UI, len(keys))
	for i, k := range keys {
		out[i] = app.Span().Class("audit-kv").Title(k+"="+d[k]).Body(
			app.Span().Class("muted").Text(k+"="), app.Text(shorten(d[k], 24)))
	}
	return out
}

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
