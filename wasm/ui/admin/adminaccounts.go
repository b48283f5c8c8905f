package admin

import (
	"slices"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/internal/apiwire"
	"trustforge/wasm/client"
	"trustforge/wasm/guide"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// adminAccounts lists the server's accounts and API tokens and changes
// them. Rows carry the account's name (or the token's id) in a data-
// attribute that handlers read when the event fires, never from a closure.
type adminAccounts struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	users   []client.User
	tokens  []client.Token
	loaded  bool
	busy    bool
	msg     string
	err     string
	secret  client.Token // a token just created, shown once
	copied  bool
	pwFor   string // the account whose password form is open
	pwValue string

	newName, newPassword string
	newRoles             []state.Role
	gen                  int // numbers loads: only the latest one's answer is shown
	// mount is the component's context: work started by an event goes on
	// with it, as go-app drops a Dispatch whose event element was
	// replaced meanwhile.
	ui app.Context
}

func (a *adminAccounts) OnMount(ctx app.Context) {
	a.ui = ctx
	a.newRoles = []state.Role{apiwire.RoleEngineer}
	a.load(ctx)
}

func (a *adminAccounts) load(ctx app.Context) {
	ctx = a.ui // set at mount, before the first load
	a.gen++
	gen := a.gen
	ctx.Async(func() {
		us, err := a.App.API.Users(ctx)
		var ts []client.Token
		if err == nil {
			ts, err = a.App.API.AllTokens(ctx)
		}
		ctx.Dispatch(func(app.Context) {
			if gen != a.gen {
				return // a later load is on its way
			}
			a.loaded = true
			if err != nil {
				a.err = kit.Describe(err)
				return
			}
			a.users, a.tokens = us, ts
		})
	})
}

func (a *adminAccounts) done(ctx app.Context, msg string, err error) {
	a.busy = false
	if err != nil {
		a.msg, a.err = "", kit.Describe(err)
		return
	}
	a.msg, a.err = msg, ""
	a.load(ctx)
}

func (a *adminAccounts) toggleNewRole(ctx app.Context, e app.Event) {
	role := state.Role(kit.TargetData(ctx, "role"))
	a.newRoles = guide.ToggleRole(a.newRoles, role, !slices.Contains(a.newRoles, role))
}

func (a *adminAccounts) create(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if a.busy {
		return
	}
	name, pw, roles := strings.TrimSpace(a.newName), a.newPassword, slices.Clone(a.newRoles)
	if why := guide.NewAccountRoles(roles); why != "" {
		a.err = why
		return
	}
	a.busy, a.msg, a.err, a.secret = true, "", "", client.Token{}
	ctx = a.ui // outlives the element the event came from
	ctx.Async(func() {
		u, err := a.App.API.CreateUser(ctx, name, roleNames(roles), pw)
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil {
				a.newName, a.newPassword = "", ""
			}
			how := "They sign in with the password you chose."
			if pw == "" {
				how = "It has no password: issue it an API token below (a station's way in)."
			}
			a.done(ctx, "Created "+u.Name+" ("+guide.RolesPhrase(u.RoleSet())+"). "+how, err)
		})
	})
}

// setRole adds or removes one role of an account (the checkbox's
// data-user and data-role say which).
func (a *adminAccounts) setRole(ctx app.Context, e app.Event) {
	name, role, on := kit.TargetData(ctx, "user"), state.Role(kit.TargetData(ctx, "role")), ctx.JSSrc().Get("checked").Bool()
	i := slices.IndexFunc(a.users, func(u client.User) bool { return u.Name == name })
	if i < 0 || a.busy {
		ctx.JSSrc().Set("checked", !on) // nothing changed: show it
		return
	}
	roles := guide.ToggleRole(a.users[i].RoleSet(), role, on)
	if why := guide.AccountRoles(name, roles); why != "" {
		a.err = why
		ctx.JSSrc().Set("checked", !on) // nothing changed: show it
		return
	}
	a.busy = true
	ctx = a.ui // outlives the element the event came from
	ctx.Async(func() {
		u, err := a.App.API.UpdateUser(ctx, name, client.UserChange{Roles: roles})
		ctx.Dispatch(func(ctx app.Context) {
			a.done(ctx, u.Name+" is now "+guide.RolesPhrase(u.RoleSet())+".", err)
			if err != nil {
				a.load(ctx)
			}
		})
	})
}

func (a *adminAccounts) setDisabled(ctx app.Context, e app.Event) {
	name, disable := kit.TargetData(ctx, "user"), kit.TargetData(ctx, "disable") == "true"
	a.busy = true
	ctx = a.ui // outlives the element the event came from
	ctx.Async(func() {
		_, err := a.App.API.UpdateUser(ctx, name, client.UserChange{Disabled: &disable})
		ctx.Dispatch(func(ctx app.Context) {
			msg := name + " is enabled again."
			if disable {
				msg = name + " is disabled: their sessions and tokens stopped working."
			}
			a.done(ctx, msg, err)
		})
	})
}

func (a *adminAccounts) openPassword(ctx app.Context, e app.Event) {
	a.pwFor, a.pwValue, a.msg, a.err = kit.TargetData(ctx, "user"), "", "", ""
}

func (a *adminAccounts) savePassword(ctx app.Context, e app.Event) {
	e.PreventDefault()
	name, pw := a.pwFor, a.pwValue
	if len(pw) < guide.MinPasswordLen {
		a.err = "The password is too short: use at least 10 characters."
		return
	}
	a.busy = true
	ctx = a.ui // outlives the element the event came from
	ctx.Async(func() {
		_, err := a.App.API.UpdateUser(ctx, name, client.UserChange{Password: &pw})
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil {
				a.pwFor, a.pwValue = "", ""
			}
			a.done(ctx, "Set a new password for "+name+". Tell them by a channel other than this one.", err)
		})
	})
}

// removePassword leaves the account signing in with API tokens only.
func (a *adminAccounts) removePassword(ctx app.Context, e app.Event) {
	name, none := a.pwFor, ""
	a.busy = true
	ctx = a.ui // outlives the element the event came from
	ctx.Async(func() {
		_, err := a.App.API.UpdateUser(ctx, name, client.UserChange{Password: &none})
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil {
				a.pwFor, a.pwValue = "", ""
			}
			a.done(ctx, name+" no longer signs in with a password: only with API tokens.", err)
		})
	})
}

func (a *adminAccounts) issueToken(ctx app.Context, e app.Event) {
	name := kit.TargetData(ctx, "user")
	a.busy, a.secret, a.copied = true, client.Token{}, false
	label := "console-" + time.Now().UTC().Format("20060102-150405")
	ctx = a.ui // outlives the element the event came from
	ctx.Async(func() {
		t, err := a.App.API.CreateUserToken(ctx, name, label)
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil {
				a.secret = t
			}
			a.done(ctx, "", err)
		})
	})
}

func (a *adminAccounts) revokeToken(ctx app.Context, e app.Event) {
	id := kit.TargetData(ctx, "token")
	a.busy = true
	ctx = a.ui // outlives the element the event came from
	ctx.Async(func() {
		err := a.App.API.DeleteToken(ctx, id)
		ctx.Dispatch(func(ctx app.Context) { a.done(ctx, "Revoked token "+id+".", err) })
	})
}

func (a *adminAccounts) copySecret(ctx app.Context, e app.Event) {
	secret := a.secret.Secret
	ctx = a.ui // outlives the element the event came from
	ctx.Async(func() {
		err := kit.CopyText(ctx, secret)
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				a.err = "Could not copy (" + kit.Describe(err) + "): select the token and copy it."
				return
			}
			a.copied = true
		})
	})
}

func (a *adminAccounts) Render() app.UI {
	me, _ := a.App.Session()
	return app.Section().ID("admin-accounts").Class("panel").Aria("labelledby", "admin-accounts-title").Body(
		app.H2().ID("admin-accounts-title").Text("Accounts"),
		app.P().Class("hint").Text(guide.RolesHint()),
		app.If(a.msg != "", func() app.UI {
			return app.P().ID("admin-accounts-message").Class("ok").Aria("live", "polite").Text(a.msg)
		}),
		app.If(a.err != "", func() app.UI {
			return app.P().ID("admin-accounts-error").Class("error").Aria("live", "assertive").Text(a.err)
		}),
		app.If(a.secret.Secret != "", func() app.UI { return a.secretBox() }),
		kit.Room(app.Div().ID("admin-users-room"), "admin-users", a.loaded).Body(
			app.If(!a.loaded, func() app.UI { return app.P().Class("muted").Text("Loading accounts…") }),
			app.If(a.loaded && a.err == "" || len(a.users) > 0, func() app.UI { return a.userTable(me.User) }),
		),
		app.If(a.pwFor != "", func() app.UI { return a.passwordForm() }),
		a.createForm(),
		app.H3().Text("API tokens"),
		kit.Room(app.Div().ID("admin-tokens-room"), "admin-tokens", a.loaded).Body(
			app.If(!a.loaded, func() app.UI {
				return app.P().Class("muted").ID("admin-tokens-loading").Text("Loading API tokens…")
			}).ElseIf(len(a.tokens) > 0, func() app.UI {
				return a.tokenTable()
			}).ElseIf(a.err == "", func() app.UI {
				return app.P().Class("muted").ID("admin-no-tokens").Text("No API tokens. Issue one from an account's row: a station, CI or the command-line tool signs in with it.")
			}),
		),
	)
}

func (a *adminAccounts) createForm() app.UI {
	return app.Form().ID("admin-create-user").Class("form subpanel").Aria("label", "Create an account").OnSubmit(a.create).Body(
		app.H3().Text("Create an account"),
		app.Label().For("admin-new-name").Text("User name"),
		app.Input().ID("admin-new-name").Type("text").Required(true).Attr("autocomplete", "off").Value(a.newName).
			OnInput(func(ctx app.Context, e app.Event) { a.newName = ctx.JSSrc().Get("value").String() }),
		app.FieldSet().Class("roles").Body(
			app.Legend().Text("Roles"),
			app.Range(apiwire.AllRoles).Slice(func(i int) app.UI {
				r := string(apiwire.AllRoles[i])
				return app.Label().Class("check").Body(
					app.Input().Type("checkbox").ID("admin-new-role-"+r).DataSet("role", r).
						Checked(slices.Contains(a.newRoles, state.Role(r))).OnChange(a.toggleNewRole),
					app.Text(" "+guide.RoleTitle(state.Role(r))),
				)
			}),
		),
		app.Label().For("admin-new-password").Text("Password (leave empty for a station: it uses API tokens only)"),
		app.Input().ID("admin-new-password").Type("password").Attr("autocomplete", "new-password").Value(a.newPassword).
			OnInput(func(ctx app.Context, e app.Event) { a.newPassword = ctx.JSSrc().Get("value").String() }),
		app.Div().Class("form-actions").Body(
			app.Button().ID("admin-create-user-submit").Type("submit").Disabled(a.busy).Text("Create account"),
		),
	)
}

func (a *adminAccounts) userTable(self string) app.UI {
	users := a.users
	return app.Table().Class("table").ID("admin-users").Body(
		app.Caption().Class("visually-hidden").Text("Accounts"),
		app.THead().Body(app.Tr().Body(
			app.Th().Scope("col").Text("Account"),
			app.Th().Scope("col").Text("Roles"),
			app.Th().Scope("col").Text("Sign-in"),
			app.Th().Scope("col").Text("Actions"),
		)),
		app.TBody().Body(app.Range(users).Slice(func(i int) app.UI {
			u := users[i]
			roles := u.RoleSet()
			status := "password"
			if !u.HasPassword {
				status = "API tokens only"
			}
			if u.Disabled {
				status = "disabled"
			}
			return app.Tr().DataSet("user", u.Name).Body(
				app.Th().Scope("row").Text(u.Name+map[bool]string{true: " (you)", false: ""}[u.Name == self]),
				app.Td().Body(app.Range(apiwire.AllRoles).Slice(func(j int) app.UI {
					r := string(apiwire.AllRoles[j])
					id := "admin-role-" + u.Name + "-" + r
					return app.Label().Class("check check-inline").For(id).Body(
						app.Input().Type("checkbox").ID(id).DataSet("user", u.Name).DataSet("role", r).
							Checked(slices.Contains(roles, state.Role(r))).Disabled(a.busy || u.Disabled).OnChange(a.setRole),
						app.Text(" "+guide.RoleTitle(state.Role(r))),
					)
				})),
				app.Td().Text(status),
				app.Td().Body(app.Div().Class("actions").Body(
					app.Button().Class("btn-small btn-secondary").Type("button").DataSet("user", u.Name).
						Aria("label", "Set password for "+u.Name).Disabled(a.busy).Text("Set password").OnClick(a.openPassword),
					app.Button().Class("btn-small btn-secondary").Type("button").DataSet("user", u.Name).
						Aria("label", "Issue token for "+u.Name).Disabled(a.busy || u.Disabled).Text("Issue token").OnClick(a.issueToken),
					app.If(u.Name != self, func() app.UI {
						label, cls := "Disable", "btn-small btn-danger"
						if u.Disabled {
							label, cls = "Enable", "btn-small btn-secondary"
						}
						return app.Button().Class(cls).Type("button").DataSet("user", u.Name).
							DataSet("disable", map[bool]string{true: "false", false: "true"}[u.Disabled]).
							Aria("label", label+" "+u.Name).Disabled(a.busy).Text(label).OnClick(a.setDisabled)
					}),
				)),
			)
		})),
	)
}

func (a *adminAccounts) passwordForm() app.UI {
	return app.Form().ID("admin-password-form").Class("form subpanel").Aria("label", "New password for "+a.pwFor).OnSubmit(a.savePassword).Body(
		app.Label().For("admin-password").Text("New password for "+a.pwFor),
		app.Input().ID("admin-password").Type("password").Attr("autocomplete", "new-password").Required(true).Value(a.pwValue).
			OnInput(func(ctx app.Context, e app.Event) { a.pwValue = ctx.JSSrc().Get("value").String() }),
		app.Div().Class("form-actions").Body(
			app.Button().ID("admin-password-save").Type("submit").Disabled(a.busy).Text("Save password"),
			app.Button().ID("admin-password-remove").Type("button").Class("btn-secondary").Disabled(a.busy).
				Title("The account then signs in with API tokens only, as a station does").
				Text("Remove password sign-in").OnClick(a.removePassword),
			app.Button().Type("button").Class("btn-ghost").Text("Cancel").
				OnClick(func(ctx app.Context, e app.Event) { a.pwFor, a.pwValue = "", "" }),
		),
	)
}

func (a *adminAccounts) secretBox() app.UI {
	return app.Div().ID("admin-token-secret").Class("banner banner-info").Body(
		app.P().Text("API token for "+a.secret.User+" ("+a.secret.Name+"). It is shown only now: copy it into the station or tool that uses it."),
		app.Div().Class("form-inline").Body(
			app.Label().For("admin-token-value").Class("visually-hidden").Text("Token"),
			app.Input().ID("admin-token-value").Type("text").ReadOnly(true).Class("mono").Value(a.secret.Secret).Size(60),
			app.Button().ID("admin-token-copy").Type("button").Text(map[bool]string{true: "Copied", false: "Copy"}[a.copied]).OnClick(a.copySecret),
			app.Button().Type("button").Class("btn-ghost").Text("Done").
				OnClick(func(ctx app.Context, e app.Event) { a.secret = client.Token{} }),
		),
	)
}

func (a *adminAccounts) tokenTable() app.UI {
	tokens := a.tokens
	return app.Table().Class("table table-cards").ID("admin-tokens").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Scope("col").Text("Account"),
			app.Th().Scope("col").Text("Token"),
			app.Th().Scope("col").Text("Created"),
			app.Th().Scope("col").Text("Expires"),
			app.Th().Scope("col").Text("Actions"),
		)),
		app.TBody().Body(app.Range(tokens).Slice(func(i int) app.UI {
			t := tokens[i]
			exp := "never"
			if t.Expires != nil {
				exp = t.Expires.Local().Format("2006-01-02 15:04")
			}
			return app.Tr().Body(
				app.Td().DataSet("label", "Account").Text(t.User),
				app.Td().DataSet("label", "Token").Body(app.Span().Text(t.Name+" "), app.Code().Class("muted").Text(t.ID)),
				app.Td().DataSet("label", "Created").Text(t.Created.Local().Format("2006-01-02 15:04")),
				app.Td().DataSet("label", "Expires").Text(exp),
				app.Td().DataSet("label", "Actions").Body(app.Button().Class("btn-small btn-danger").Type("button").DataSet("token", t.ID).
					Aria("label", "Revoke token "+t.Name+" of "+t.User).Disabled(a.busy).Text("Revoke").OnClick(a.revokeToken)),
			)
		})),
	)
}

// roleNames returns the roles' names, as the API takes them.
func roleNames(roles []state.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}
