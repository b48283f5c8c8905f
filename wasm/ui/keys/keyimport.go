package keys

import (
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// maxKeyFile bounds an imported key file.
const maxKeyFile = 64 << 10

// keyImporter imports existing private keys (imgtool PEM files, age
// identities) chosen with a file picker or dropped on it.
type keyImporter struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	stopDrop func()
	busy     bool
	msg, err string

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (k *keyImporter) OnMount(ctx app.Context) {
	k.ui = ctx
	if !app.IsClient {
		return
	}
	stop, err := kit.ListenDrop("import-drop", func(fs []kit.PickedFile) {
		ctx.Dispatch(func(ctx app.Context) { k.importFiles(ctx, fs) })
	})
	if err == nil {
		k.stopDrop = stop
	}
}

func (k *keyImporter) OnDismount() {
	if k.stopDrop != nil {
		k.stopDrop()
	}
}

func (k *keyImporter) picked(ctx app.Context, e app.Event) {
	fs, err := kit.InputFiles("import-file")
	kit.ClearInput("import-file")
	if err != nil {
		k.err = kit.Describe(err)
		return
	}
	k.importFiles(ctx, fs)
}

// importFiles reads and imports each file; a bad file is reported and
// imports nothing, the others go on.
func (k *keyImporter) importFiles(ctx app.Context, fs []kit.PickedFile) {
	ctx = k.ui
	if k.busy || len(fs) == 0 {
		return
	}
	k.busy, k.msg, k.err = true, "", ""
	ctx.Async(func() {
		var done, failed []string
		for _, f := range fs {
			err := func() error {
				v, err := k.App.UnlockedVault()
				if err != nil {
					return err
				}
				data, err := f.Read(ctx, maxKeyFile, nil)
				if err != nil {
					return err
				}
				name := strings.TrimSuffix(strings.TrimSuffix(f.Name, ".pem"), ".txt")
				_, err = v.Import(ctx, data, name)
				return err
			}()
			if err != nil {
				failed = append(failed, f.Name+": "+kit.Describe(err))
			} else {
				done = append(done, f.Name)
			}
		}
		ctx.Dispatch(func(app.Context) {
			k.busy = false
			if len(done) > 0 {
				k.msg = "Imported " + strings.Join(done, ", ") + "."
				k.App.VaultChanged()
			}
			k.err = strings.Join(failed, " ")
		})
	})
}

func (k *keyImporter) Render() app.UI {
	return app.Section().ID("key-import").Class("panel").Aria("label", "Import keys").Body(
		app.H2().Text("Import keys"),
		app.Div().ID("import-drop").DataSet("testid", "import-drop").Class("dropzone").Body(
			app.P().Text("Drop imgtool key files (PEM) or age identities here, or"),
			app.Label().For("import-file").Class("button btn-primary").Text("Choose files…"),
			app.Input().ID("import-file").DataSet("testid", "import-file").Type("file").Class("visually-hidden").
				Multiple(true).Accept(".pem,.key,.der,.txt").OnChange(k.picked),
		),
		app.If(k.busy, func() app.UI { return app.P().Class("muted").Text("Importing…") }),
		app.If(k.msg != "", func() app.UI {
			return app.P().ID("import-message").DataSet("testid", "import-message").Class("ok").Aria("live", "polite").Text(k.msg)
		}),
		app.If(k.err != "", func() app.UI {
			return app.P().ID("import-error").DataSet("testid", "import-error").Class("error").Aria("live", "assertive").Text(k.err)
		}),
	)
}
