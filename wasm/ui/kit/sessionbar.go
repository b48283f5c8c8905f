package kit

import (
	"net/url"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/guide"
	"trustforge/wasm/state"
)

// sessionBar shows, in the top bar, who is signed in with which role and
// a sign-out button, or a link to sign in.
type sessionBar struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	unsubscribe func()
	busy        bool

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (b *sessionBar) OnMount(ctx app.Context) {
	b.ui = ctx
	b.unsubscribe = b.App.Subscribe(func() { ctx.Dispatch(nil) })
	ctx.PreventUpdate() // nothing to show anew
}

func (b *sessionBar) OnDismount() {
	if b.unsubscribe != nil {
		b.unsubscribe()
	}
}

func (b *sessionBar) signOut(ctx app.Context, e app.Event) {
	ctx = b.ui
	b.busy = true
	ctx.Async(func() {
		b.App.SignOut(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			b.busy = false
			ctx.Navigate(SignInPath)
		})
	})
}

func (b *sessionBar) Render() app.UI {
	s, ok := b.App.Session()
	if !ok {
		next := "/"
		if app.IsClient {
			next = app.Window().URL().Path
		}
		return app.Div().Class("session").ID("session").Body(
			app.A().ID("session-signin").DataSet("testid", "session-signin").
				Href(SignInPath + "?next=" + url.QueryEscape(next)).Text("Sign in"),
		)
	}
	return app.Div().Class("session").ID("session").Body(
		app.Span().ID("session-user").DataSet("testid", "session-user").DataSet("role", s.Role).
			Title("Roles: "+guide.RolesPhrase(s.RoleSet())).
			Text(s.User+" · "+guide.RolesPhrase(s.RoleSet())),
		app.Button().ID("session-signout").DataSet("testid", "session-signout").Class("btn-small btn-ghost").
			Disabled(b.busy).Text("Sign out").OnClick(b.signOut),
	)
}
