package home

import (
	"context"
	"slices"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/devices/fwupdate"
	"trustforge/internal/apiwire"
	"trustforge/wasm/client"
	"trustforge/wasm/guide"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
)

// gatherFacts reads what the getting-started checklist needs from the
// server (what the viewer's roles may read) and from this browser (its
// vault and update log). What cannot be read counts as not done.
func gatherFacts(ctx context.Context, st *state.App, boards *board.Kit) guide.Facts {
	f := guide.Facts{Viewer: kit.ViewerOf(st)}
	if !f.Viewer.SignedIn {
		return f
	}
	api := st.API
	v := f.Viewer
	if v.Can(apiwire.PermRead) {
		if ps, err := api.Products(ctx); err == nil {
			f.Products = len(ps)
			for _, p := range ps {
				ks, err := api.Keys(ctx, p.Name)
				if err != nil {
					continue
				}
				for _, k := range ks {
					if k.Revoked == nil {
						f.Registered = append(f.Registered, k.Fingerprint)
					}
				}
			}
		}
		if rs, err := api.Recipients(ctx); err == nil {
			f.Recipients = len(rs)
			for _, r := range rs {
				if r.User == v.User {
					f.OwnRecipient = true
				}
			}
		}
		if rs, err := api.Releases(ctx, client.Filter{Limit: 1}); err == nil {
			f.Releases = len(rs)
		}
	}
	if v.Can(apiwire.PermUsers) {
		if us, err := api.Users(ctx); err == nil {
			f.Accounts = len(us)
		}
	}
	if v.Can(apiwire.PermDevices) {
		if ds, err := api.Devices(ctx, client.DeviceFilter{Limit: 1}); err == nil {
			f.Provisioned = len(ds)
		}
	}
	if vlt, err := st.Vault(); err == nil {
		f.VaultExists = true
		if infos, err := vlt.List(ctx); err == nil {
			for _, i := range infos {
				if i.Algorithm.CanSign() {
					f.SigningKeys = append(f.SigningKeys, i.ID)
				}
			}
		}
	}
	if boards != nil {
		if _, log, err := boards.Stores(ctx); err == nil {
			if es, err := log.List(ctx); err == nil {
				for _, e := range es {
					if e.Record.Outcome == fwupdate.Updated {
						f.Updated++
					}
				}
			}
		}
	}
	return f
}

// gettingStarted is the home page's checklist: the steps from an empty
// server to a flashed board, for the signed-in account's roles, each
// linking to where it is done and ticked once done. It folds away when all
// are done and can be opened again.
type gettingStarted struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// Kit holds this browser's update log.
	Kit *board.Kit

	steps       []guide.Step
	user        string // whose steps these are
	checking    bool   // steps shown before anything was checked: not known done or not
	loading     bool
	stale       bool
	open        bool
	unsubscribe func()
	ui          app.Context // the component's own context, kept at mount
}

// OnInit shows, from the first render on, the steps as this browser last
// saw them for the account (state.App.RememberedSteps), while OnMount asks
// the server again: the checklist then keeps its size, and the cards below
// their place, instead of appearing when the answers come.
func (g *gettingStarted) OnInit() {
	if !app.IsClient || len(g.steps) > 0 {
		return
	}
	v := kit.ViewerOf(g.App)
	steps := guide.Checklist(guide.Facts{Viewer: v})
	done, ok := g.App.RememberedSteps()
	for i := range steps {
		steps[i].Done = slices.Contains(done, steps[i].ID)
	}
	// Never shown in this browser: the account's steps, each still being
	// checked, hold the checklist's place.
	g.steps, g.user, g.checking = steps, v.User, !ok
}

func (g *gettingStarted) OnMount(ctx app.Context) {
	if !app.IsClient {
		return
	}
	g.ui = ctx
	g.unsubscribe = kit.Follow(ctx, g.App, g.refresh)
	g.refresh(ctx)
}

func (g *gettingStarted) OnDismount() {
	if g.unsubscribe != nil {
		g.unsubscribe()
	}
}

// refresh recomputes the steps; a change while computing asks for one
// more round.
func (g *gettingStarted) refresh(ctx app.Context) {
	if !app.IsClient {
		return
	}
	if g.loading {
		g.stale = true
		return
	}
	g.loading, g.stale = true, false
	ctx = g.ui
	ctx.Async(func() {
		f := gatherFacts(ctx, g.App, g.Kit)
		steps := guide.Checklist(f)
		if f.Viewer.SignedIn {
			var done []string
			for _, s := range steps {
				if s.Done {
					done = append(done, s.ID)
				}
			}
			g.App.RememberSteps(f.Viewer.User, done)
		}
		ctx.Dispatch(func(ctx app.Context) {
			g.loading, g.checking = false, false
			if f.Viewer.User != g.user {
				g.open = false
			}
			g.steps, g.user = steps, f.Viewer.User
			if g.stale {
				g.refresh(ctx)
			}
		})
	})
}

func (g *gettingStarted) Render() app.UI {
	if len(g.steps) == 0 {
		return app.Div().ID("getting-started-none")
	}
	done := 0
	for _, s := range g.steps {
		if s.Done {
			done++
		}
	}
	all := done == len(g.steps) && !g.checking
	if all && !g.open {
		return app.Div().ID("getting-started").Class("getting-started getting-started-done").Body(
			app.Span().Class("badge badge-ok").Text("✓ set up"),
			app.Text(" Getting started: all "+strconv.Itoa(len(g.steps))+" steps done. "),
			app.Button().ID("getting-started-open").Type("button").Class("btn-small btn-ghost").
				Text("Show the checklist").OnClick(func(ctx app.Context, e app.Event) { g.open = true }),
		)
	}
	next, _ := guide.Next(g.steps)
	if g.checking {
		next = guide.Step{}
	}
	progress := strconv.Itoa(done) + " of " + strconv.Itoa(len(g.steps)) + " done"
	if g.checking {
		progress = "checking your progress…"
	}
	steps := g.steps
	return app.Section().ID("getting-started").Class("panel getting-started").Aria("labelledby", "getting-started-title").Body(
		app.Div().Class("getting-started-head").Body(
			app.H2().ID("getting-started-title").Text("Getting started"),
			app.Span().Class("muted").ID("getting-started-progress").Text(progress),
			app.If(all, func() app.UI {
				return app.Button().ID("getting-started-close").Type("button").Class("btn-small btn-ghost").
					Text("Hide").OnClick(func(ctx app.Context, e app.Event) { g.open = false })
			}),
		),
		app.Ol().Class("checklist").Body(app.Range(steps).Slice(func(i int) app.UI {
			s := steps[i]
			cls, mark, doneAttr, said := "todo", strconv.Itoa(i+1), strconv.FormatBool(s.Done), " (to do)"
			switch {
			case g.checking:
				cls, doneAttr, said = "todo checking", "unknown", " (being checked)"
			case s.Done:
				cls, mark, said = "done", "✓", " (done)"
			case s.ID == next.ID:
				cls = "todo next"
			}
			return app.Li().Class("check-step "+cls).ID("step-"+s.ID).DataSet("done", doneAttr).Body(
				app.Span().Class("check-mark").Aria("hidden", "true").Text(mark),
				app.Div().Class("check-body").Body(
					app.Strong().Text(s.Title),
					app.Span().Class("visually-hidden").Text(said),
					app.Div().Class("muted").Text(s.Why),
				),
				app.If(s.Link != "" && !s.Done, func() app.UI {
					return app.A().Class("check-link").Href(s.Link).Text("Go to " + s.LinkText)
				}).Else(func() app.UI {
					return app.Span().Class("check-link-space")
				}),
			)
		})),
	)
}
