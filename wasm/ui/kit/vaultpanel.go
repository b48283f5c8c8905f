package kit

import (
	"fmt"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/state"
)

// VaultPanel creates, unlocks and locks the vault.
type VaultPanel struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	pass, confirm string
	busy          bool
	err           string
	unsubscribe   func()

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (v *VaultPanel) OnMount(ctx app.Context) {
	v.ui = ctx
	v.unsubscribe = v.App.Subscribe(func() { ctx.Dispatch(nil) })
}

func (v *VaultPanel) OnDismount() {
	if v.unsubscribe != nil {
		v.unsubscribe()
	}
}

func (v *VaultPanel) create(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if v.pass != v.confirm {
		v.err = "The two passphrases differ."
		return
	}
	pass := v.pass
	v.run(ctx, func() error { return v.App.CreateVault(ctx, pass) })
}

func (v *VaultPanel) unlock(ctx app.Context, e app.Event) {
	e.PreventDefault()
	pass := v.pass
	v.run(ctx, func() error { return v.App.UnlockVault(ctx, pass) })
}

// run does the scrypt work off the UI goroutine.
func (v *VaultPanel) run(ctx app.Context, f func() error) {
	ctx = v.ui
	if v.busy {
		return
	}
	v.busy, v.err = true, ""
	ctx.Async(func() {
		err := f()
		ctx.Dispatch(func(app.Context) {
			v.busy = false
			v.pass, v.confirm = "", ""
			if err != nil {
				v.err = Describe(err)
			}
		})
	})
}

// passInput is a passphrase field; autocomplete is "new-password" where a
// passphrase is chosen and "current-password" where one is typed.
func (v *VaultPanel) passInput(id, label, autocomplete string, value *string) []app.UI {
	return []app.UI{
		app.Label().For(id).Text(label),
		app.Input().ID(id).DataSet("testid", id).Type("password").Required(true).Value(*value).
			Attr("autocomplete", autocomplete).
			OnInput(func(ctx app.Context, e app.Event) { *value = ctx.JSSrc().Get("value").String() }, app.EventScope(id)),
	}
}

func (v *VaultPanel) Render() app.UI {
	st := v.App.VaultState()
	status := map[state.VaultState]string{
		state.VaultLoading: "loading", state.VaultNone: "none", state.VaultLocked: "locked",
		state.VaultUnlocked: "unlocked", state.VaultBroken: "broken",
	}[st]
	panel := Room(app.Section().ID("vault"), "vault", st != state.VaultLoading).Class("panel").DataSet("testid", "vault").DataSet("state", status).Aria("label", "Key vault")
	errLine := app.If(v.err != "", func() app.UI {
		return app.P().ID("vault-error").DataSet("testid", "vault-error").Class("error").Aria("live", "assertive").Text(v.err)
	})
	busyText := func(idle, working string) string {
		if v.busy {
			return working
		}
		return idle
	}
	switch st {
	case state.VaultLoading:
		return panel.Body(app.P().Text("Opening this browser's vault…"))
	case state.VaultBroken:
		return panel.Body(app.P().Class("error").ID("vault-broken").Text("The vault cannot be opened: " + Describe(v.App.VaultError())))
	case state.VaultNone:
		return panel.Body(
			app.H2().Text("Create your key vault"),
			app.P().Text("Choose a passphrase: it seals every key in this browser. It cannot be recovered, so keep it, and keep backups of your keys."),
			app.Form().ID("vault-create-form").Class("form").OnSubmit(v.create).Body(
				app.Div().Class("field").Body(v.passInput("vault-pass", "Passphrase", "new-password", &v.pass)...),
				app.Div().Class("field").Body(v.passInput("vault-pass-confirm", "Passphrase again", "new-password", &v.confirm)...),
				app.Button().ID("vault-create").DataSet("testid", "vault-create").Class("btn-primary").Type("submit").Disabled(v.busy).
					Text(busyText("Create vault", "Sealing…")),
				errLine,
			),
		)
	case state.VaultLocked:
		return panel.Body(
			app.H2().Body(app.Span().Class("badge badge-locked").Text("Locked"), app.Text(" Key vault")),
			app.Form().ID("vault-unlock-form").Class("form-inline").OnSubmit(v.unlock).Body(
				app.Div().Class("inline-group").Body(v.passInput("vault-pass", "Passphrase", "current-password", &v.pass)...),
				app.Button().ID("vault-unlock").DataSet("testid", "vault-unlock").Class("btn-primary").Type("submit").Disabled(v.busy).
					Text(busyText("Unlock", "Unlocking…")),
				errLine,
			),
		)
	}
	idle := "It stays unlocked until you lock it or leave this tab."
	if d := v.App.IdleLock(); d > 0 {
		idle = fmt.Sprintf("It locks itself after %s without use, when you lock it, or when this tab closes.", durationText(d))
	}
	return panel.Body(
		app.H2().Body(app.Span().Class("badge badge-unlocked").Text("Unlocked"), app.Text(" Key vault")),
		app.P().Class("muted").Text(idle),
		app.Button().ID("vault-lock").DataSet("testid", "vault-lock").Class("btn-ghost").Text("Lock now").
			OnClick(func(ctx app.Context, e app.Event) { v.App.LockVault() }),
	)
}

// durationText writes a lock delay for people: "15 minutes", "1 hour".
func durationText(d time.Duration) string {
	unit, n := "minute", int(d/time.Minute)
	if d%time.Hour == 0 && d >= time.Hour {
		unit, n = "hour", int(d/time.Hour)
	}
	if n < 1 {
		return d.String()
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
