// Package enrol is the page at the server's one-time enrolment link: it
// creates the first account, signs it in and goes to the home page.
package enrol

import (
	"errors"
	"net/url"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/internal/apiwire"
	"trustforge/wasm/guide"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// Page creates the first account from the server's one-time link,
// signs it in and goes to the home page.
type Page struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
}

func (p *Page) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Create the first account · trustforge")
}

func (p *Page) Render() app.UI {
	return &kit.Layout{
		App:    p.App,
		Active: kit.EnrolPath,
		Title:  "Create the first account",
		Content: []app.UI{
			app.P().Class("lead").Text("This server has no account yet. The link you opened makes the first one, once; " +
				"that account then creates everyone else's on Administration."),
			&enrolForm{App: p.App},
		},
	}
}

// enrolToken reads the one-time secret from a URL fragment "token=tfe_…".
func enrolToken(fragment string) string {
	v, err := url.ParseQuery(fragment)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(v.Get("token"))
}

// enrolForm is the name, password and role form of the enrolment page.
type enrolForm struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	name, password, confirm string
	adminOnly               bool
	busy                    bool
	err                     string
	ui                      app.Context // the component's own context, kept at mount
}

func (f *enrolForm) OnMount(ctx app.Context) { f.ui = ctx }

func (f *enrolForm) token() string {
	if !app.IsClient {
		return ""
	}
	return enrolToken(app.Window().URL().Fragment)
}

func (f *enrolForm) submit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	ctx = f.ui
	if f.busy {
		return
	}
	name, password := strings.TrimSpace(f.name), f.password
	switch {
	case name == "":
		f.err = "Choose a user name."
		return
	case len(password) < guide.MinPasswordLen:
		f.err = "The password is too short: use at least 10 characters."
		return
	case password != f.confirm:
		f.err = "The two passwords differ: type the same password twice."
		return
	}
	var roles []string // nil: the server's default, administrator and engineer
	if f.adminOnly {
		roles = []string{string(apiwire.RoleAdmin)}
	}
	token := f.token()
	f.busy, f.err = true, ""
	ctx.Async(func() {
		err := f.App.Enrol(ctx, token, name, password, roles)
		ctx.Dispatch(func(ctx app.Context) {
			f.busy = false
			if err != nil {
				f.err = describeEnrol(err)
				return
			}
			f.password, f.confirm = "", ""
			ctx.Navigate("/")
		})
	})
}

// describeEnrol explains an enrolment failure.
func describeEnrol(err error) string {
	switch {
	case errors.Is(err, apiwire.CodeEnrolmentInvalid):
		return "This link was used already or has expired. Whoever runs the server can print a fresh one with " +
			"`trustforge admin enrol --data DIR` (or by restarting a server that still has no account)."
	case errors.Is(err, apiwire.CodeExists):
		return "That user name is taken: choose another."
	}
	return kit.Describe(err)
}

func (f *enrolForm) Render() app.UI {
	if s, ok := f.App.Session(); ok {
		return app.Div().Class("panel").ID("enrol-done").Body(
			app.P().Text("You are signed in as "+s.User+"."),
			app.A().Href("/").Text("Go to the console"),
		)
	}
	if app.IsClient && f.token() == "" {
		return app.Div().Class("panel").ID("enrol-no-token").Body(
			app.P().Class("error").Text("This page needs the one-time link the server printed when it first started (…/enrol#token=…)."),
			app.P().Text("Lost it? On the server, run `trustforge admin enrol --data DIR` to print a new one. "+
				"If an account exists already, sign in instead."),
			app.A().Href(kit.SignInPath).Text("Sign in"),
		)
	}
	level, hint := guide.PasswordStrength(f.password, f.name)
	mismatch := f.confirm != "" && f.confirm != f.password
	return app.Form().ID("enrol-form").Class("panel form").Aria("label", "Create the first account").OnSubmit(f.submit).Body(
		app.Label().For("enrol-name").Text("User name"),
		app.Input().ID("enrol-name").DataSet("testid", "enrol-name").Type("text").Name("username").
			Attr("autocomplete", "username").Required(true).AutoFocus(true).Value(f.name).
			OnInput(func(ctx app.Context, e app.Event) { f.name = ctx.JSSrc().Get("value").String() }),
		app.Label().For("enrol-password").Text("Password"),
		app.Input().ID("enrol-password").DataSet("testid", "enrol-password").Type("password").Name("new-password").
			Attr("autocomplete", "new-password").Required(true).Value(f.password).Aria("describedby", "enrol-strength").
			OnInput(func(ctx app.Context, e app.Event) { f.password = ctx.JSSrc().Get("value").String() }),
		app.P().ID("enrol-strength").Class("hint strength strength-"+level.String()).DataSet("strength", level.String()).
			Aria("live", "polite").Text(map[bool]string{true: "At least 10 characters; a few unrelated words are easy to remember.", false: hint}[f.password == ""]),
		app.Label().For("enrol-confirm").Text("Password again"),
		app.Input().ID("enrol-confirm").DataSet("testid", "enrol-confirm").Type("password").Name("confirm-password").
			Attr("autocomplete", "new-password").Required(true).Value(f.confirm).
			OnInput(func(ctx app.Context, e app.Event) { f.confirm = ctx.JSSrc().Get("value").String() }),
		app.If(mismatch, func() app.UI {
			return app.P().ID("enrol-mismatch").Class("hint error").Text("The two passwords differ.")
		}),
		app.Label().Class("check").Body(
			app.Input().Type("checkbox").ID("enrol-admin-only").Checked(f.adminOnly).
				OnChange(func(ctx app.Context, e app.Event) { f.adminOnly = ctx.JSSrc().Get("checked").Bool() }),
			app.Text(" Administer only: engineers with their own accounts will publish firmware"),
		),
		app.P().Class("hint").Text("Left unticked, this account is administrator and engineer, so you can set up a product, "+
			"sign and publish firmware and flash boards on your own. Tick it to keep administration and publishing apart."),
		app.Div().Class("form-actions").Body(
			app.Button().ID("enrol-submit").DataSet("testid", "enrol-submit").Type("submit").Disabled(f.busy).
				Text(map[bool]string{true: "Creating…", false: "Create account and sign in"}[f.busy]),
		),
		app.If(f.err != "", func() app.UI {
			return app.P().ID("enrol-error").DataSet("testid", "enrol-error").Class("error").Aria("live", "assertive").Text(f.err)
		}),
	)
}
