package kit

import (
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/guide"
	"trustforge/wasm/state"
)

// SignInPage signs in against the release server's accounts, then returns
// to the page named by ?next=.
type SignInPage struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
}

func (p *SignInPage) OnNav(ctx app.Context) { ctx.Page().SetTitle("Sign in · trustforge") }

func (p *SignInPage) Render() app.UI {
	return &Layout{
		App:    p.App,
		Active: SignInPath,
		Title:  "Sign in",
		Content: []app.UI{
			app.P().Class("lead").Text("Sign in with your trustforge account. Your keys stay in this browser's vault whatever you sign in as."),
			&SignInForm{App: p.App},
		},
	}
}

// SignInForm is the name and password form. It is also shown inline on
// pages that need an account.
type SignInForm struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	name, password string
	busy           bool
	err            string

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (f *SignInForm) OnMount(ctx app.Context) { f.ui = ctx }

func (f *SignInForm) submit(ctx app.Context, e app.Event) {
	ctx = f.ui
	e.PreventDefault()
	if f.busy {
		return
	}
	f.busy, f.err = true, ""
	name, password := strings.TrimSpace(f.name), f.password
	ctx.Async(func() {
		err := f.App.SignIn(ctx, name, password)
		ctx.Dispatch(func(ctx app.Context) {
			f.busy = false
			if err != nil {
				f.err = Describe(err)
				return
			}
			f.password = ""
			next := "/releases"
			if app.IsClient {
				if n := app.Window().URL().Query().Get("next"); strings.HasPrefix(n, "/") && !strings.HasPrefix(n, "//") && n != SignInPath {
					next = n
				}
				if app.Window().URL().Path != SignInPath {
					return // shown inline: stay on the page
				}
			}
			ctx.Navigate(next)
		})
	})
}

func (f *SignInForm) Render() app.UI {
	if s, ok := f.App.Session(); ok {
		return app.P().ID("signed-in").DataSet("testid", "signed-in").Text("Signed in as " + s.User + " (" + guide.RolesPhrase(s.RoleSet()) + ").")
	}
	return app.Form().ID("signin-form").Class("panel form").OnSubmit(f.submit).Body(
		app.Label().For("signin-name").Text("User name"),
		app.Input().ID("signin-name").DataSet("testid", "signin-name").Type("text").Name("username").
			Attr("autocomplete", "username").Required(true).Value(f.name).
			OnInput(func(ctx app.Context, e app.Event) { f.name = ctx.JSSrc().Get("value").String() }),
		app.Label().For("signin-password").Text("Password"),
		app.Input().ID("signin-password").DataSet("testid", "signin-password").Type("password").Name("password").
			Attr("autocomplete", "current-password").Required(true).Value(f.password).
			OnInput(func(ctx app.Context, e app.Event) { f.password = ctx.JSSrc().Get("value").String() }),
		app.Button().ID("signin-submit").DataSet("testid", "signin-submit").Class("btn-primary").Type("submit").Disabled(f.busy).
			Text(map[bool]string{true: "Signing in…", false: "Sign in"}[f.busy]),
		app.If(f.err != "", func() app.UI {
			return app.P().ID("signin-error").DataSet("testid", "signin-error").Class("error").Aria("live", "assertive").Text(f.err)
		}),
	)
}
