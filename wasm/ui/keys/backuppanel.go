package keys

import (
	"fmt"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// maxBackupFile bounds a backup file to restore.
const maxBackupFile = 16 << 20

// backupPanel exports the vault as an encrypted backup (an age file) and
// restores one.
type backupPanel struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	backupPass, restorePass string
	restoreName             string // the backup file chosen
	busy                    bool
	msg, err                string

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (b *backupPanel) OnMount(ctx app.Context) { b.ui = ctx }

func (b *backupPanel) export(ctx app.Context, e app.Event) {
	ctx = b.ui
	e.PreventDefault()
	if b.busy {
		return
	}
	pass := b.backupPass
	b.busy, b.msg, b.err = true, "", ""
	ctx.Async(func() {
		v, err := b.App.UnlockedVault()
		var data []byte
		if err == nil {
			data, err = v.Backup(ctx, pass)
		}
		name := "trustforge-keys-" + time.Now().UTC().Format("20060102-150405") + ".age"
		if err == nil {
			err = kit.SaveFile(name, "application/octet-stream", data)
		}
		ctx.Dispatch(func(app.Context) {
			b.busy = false
			if err != nil {
				b.err = kit.Describe(err)
				return
			}
			b.backupPass = ""
			b.msg = "Saved the encrypted backup " + name + ". Keep it and its passphrase apart."
		})
	})
}

func (b *backupPanel) restore(ctx app.Context, e app.Event) {
	ctx = b.ui
	e.PreventDefault()
	if b.busy {
		return
	}
	fs, err := kit.InputFiles("restore-file")
	if err != nil || len(fs) == 0 {
		b.err = "Choose a backup file first."
		return
	}
	pass := b.restorePass
	b.busy, b.msg, b.err = true, "", ""
	ctx.Async(func() {
		v, err := b.App.UnlockedVault()
		var data []byte
		if err == nil {
			data, err = fs[0].Read(ctx, maxBackupFile, nil)
		}
		var added, skipped int
		if err == nil {
			res, rerr := v.Restore(ctx, data, pass)
			added, skipped, err = len(res.Added), len(res.Skipped), rerr
		}
		ctx.Dispatch(func(app.Context) {
			b.busy = false
			if err != nil {
				b.err = kit.Describe(err)
				return
			}
			b.restorePass = ""
			kit.ClearInput("restore-file")
			b.msg = fmt.Sprintf("Restored %d key(s); %d already here were left as they were.", added, skipped)
			b.App.VaultChanged()
		})
	})
}

func (b *backupPanel) Render() app.UI {
	return app.Section().ID("backup").Class("panel").Aria("label", "Backup and restore").Body(
		app.H2().Text("Backup and restore"),
		app.Form().ID("backup-form").Class("form-inline").OnSubmit(b.export).Body(
			kit.Pair(app.Label().For("backup-pass").Text("Backup passphrase"),
				app.Input().ID("backup-pass").DataSet("testid", "backup-pass").Type("password").Attr("autocomplete", "new-password").Required(true).Value(b.backupPass).
					OnInput(func(ctx app.Context, e app.Event) { b.backupPass = ctx.JSSrc().Get("value").String() })),
			app.Button().ID("backup-export").DataSet("testid", "backup-export").Class("btn-primary").Type("submit").Disabled(b.busy).Text("Export encrypted backup"),
		),
		app.Form().ID("restore-form").Class("form-inline").OnSubmit(b.restore).Body(
			kit.Pair(app.Label().For("restore-file").Text("Backup file"),
				kit.FilePicker("restore-file", "Choose the backup…", ".age", b.restoreName,
					func(ctx app.Context, e app.Event) { b.restoreName = kit.ChosenName(ctx) })),
			kit.Pair(app.Label().For("restore-pass").Text("Its passphrase"),
				app.Input().ID("restore-pass").DataSet("testid", "restore-pass").Type("password").Attr("autocomplete", "current-password").Required(true).Value(b.restorePass).
					OnInput(func(ctx app.Context, e app.Event) { b.restorePass = ctx.JSSrc().Get("value").String() })),
			app.Button().ID("backup-restore").DataSet("testid", "backup-restore").Type("submit").Disabled(b.busy).Text("Restore"),
		),
		app.If(b.msg != "", func() app.UI {
			return app.P().ID("backup-message").DataSet("testid", "backup-message").Class("ok").Aria("live", "polite").Text(b.msg)
		}),
		app.If(b.err != "", func() app.UI {
			return app.P().ID("backup-error").DataSet("testid", "backup-error").Class("error").Aria("live", "assertive").Text(b.err)
		}),
	)
}
