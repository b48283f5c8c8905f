package kit

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/guide"
	"trustforge/wasm/state"
)

// pageGuides maps page paths to the guide's pages.
var pageGuides = map[string]guide.Page{
	"/devices":  guide.PageDevices,
	UpdatePath:  guide.PageUpdate,
	"/releases": guide.PageReleases,
	"/keys":     guide.PageKeys,
	"/identity": guide.PageIdentity,
	"/security": guide.PageSecurity,
	StationPath: guide.PageStation,
	AdminPath:   guide.PageAdmin,
}

// ViewerOf describes who is signed in to st, for the guide's wording.
func ViewerOf(st *state.App) guide.Viewer {
	s, ok := st.Session()
	if !ok {
		return guide.Viewer{}
	}
	return guide.Viewer{SignedIn: true, User: s.User, Roles: s.RoleSet(), Admins: st.KnownAdmins()}
}

// pageNote says, under a page's title, what the signed-in account's roles
// let it do there and, for the rest, who can and how. Its words come from
// the page named by Path, read in Render, so a note reused for another
// page speaks for that page.
type pageNote struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// Path is the page's path.
	Path string

	unsubscribe func()
	ui          app.Context // the component's own context, kept at mount
}

func (n *pageNote) OnMount(ctx app.Context) {
	if !app.IsClient {
		return
	}
	n.ui = ctx
	n.unsubscribe = Follow(ctx, n.App, n.askAdmins)
	n.askAdmins(ctx)
	ctx.PreventUpdate() // nothing to show anew: the answer comes through Follow
}

func (n *pageNote) OnUpdate(ctx app.Context) { n.askAdmins(ctx) }

func (n *pageNote) OnDismount() {
	if n.unsubscribe != nil {
		n.unsubscribe()
	}
}

// askAdmins fetches the administrators' names when the note has someone
// to send the viewer to.
func (n *pageNote) askAdmins(ctx app.Context) {
	page, ok := pageGuides[n.Path]
	if !ok || !app.IsClient {
		return
	}
	v := ViewerOf(n.App)
	if !v.SignedIn || v.IsAdmin() || v.Admins != nil || len(guide.PageNote(page, v).Cannot) == 0 {
		return
	}
	ctx = n.ui
	ctx.Async(func() { n.App.LoadAdmins(ctx) })
}

func (n *pageNote) Render() app.UI {
	page, ok := pageGuides[n.Path]
	if !ok || !n.App.SessionChecked() {
		return app.Div().Class("page-note-empty")
	}
	note := guide.PageNote(page, ViewerOf(n.App))
	return app.Div().Class("page-note").ID("page-note").DataSet("testid", "page-note").Body(
		app.P().ID("page-note-can").Text(note.Can),
		app.If(len(note.Cannot) > 0, func() app.UI {
			return app.Ul().Class("page-note-cannot").ID("page-note-cannot").Body(
				app.Range(note.Cannot).Slice(func(i int) app.UI {
					return app.Li().Text(note.Cannot[i].Sentence())
				}),
			)
		}),
	)
}
