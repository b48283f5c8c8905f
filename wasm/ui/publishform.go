package ui

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/vault"
	"trustforge/wasm/client"
	"trustforge/wasm/release"
	"trustforge/wasm/state"
)

// publishForm publishes a release: a firmware file, its description, the
// MCUboot signing options, the recipients who may open it; then it signs,
// encrypts and uploads, with progress and a cancel button, and shows the
// signed manifest.
type publishForm struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// OnPublished is called after a successful upload.
	OnPublished func(ctx app.Context, rel client.Release)

	products   []client.Product
	recipients []client.Recipient
	keys       []vault.Info
	fileName   string
	fileSize   int64

	product, channel, version, counter, hardware, notes string
	keyID, encryptTo                                    string
	headerSize, align, slotSize                         string
	padHeader                                           bool
	chosen                                              map[string]bool // age recipients

	running  bool
	stage    release.Stage
	done     int64
	total    int64
	cancel   context.CancelFunc
	err      string
	result   *publishResult
	loadOnce bool
	unsub    func()

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

// publishResult is what the last publish produced.
type publishResult struct {
	Release  client.Release
	Manifest string // indented JSON
	Timing   timing
}

// timing splits the time from "Publish" to "uploaded".
type timing struct {
	Read, Sign, Encrypt, Upload, Total time.Duration
}

func (f *publishForm) OnMount(ctx app.Context) {
	f.ui = ctx
	f.headerSize, f.align, f.padHeader = "0x200", "8", true
	if f.chosen == nil {
		f.chosen = map[string]bool{}
	}
	if !app.IsClient {
		return
	}
	f.unsub = f.App.Subscribe(func() { ctx.Dispatch(func(ctx app.Context) { f.loadKeys(ctx) }) })
	f.load(ctx)
}

func (f *publishForm) OnDismount() {
	if f.unsub != nil {
		f.unsub()
	}
	if f.cancel != nil {
		f.cancel()
	}
}

// load fetches products and the recipient directory, and the vault's keys.
func (f *publishForm) load(ctx app.Context) {
	ctx = f.ui
	f.loadKeys(ctx)
	ctx.Async(func() {
		ps, err := f.App.API.Products(ctx)
		rs, rerr := f.App.API.Recipients(ctx)
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				f.err = describe(err)
				return
			}
			if rerr != nil {
				f.err = describe(rerr)
			}
			f.products, f.recipients = ps, rs
			if f.product == "" && len(ps) > 0 {
				f.product = ps[0].Name
				f.channel = firstChannel(ps[0])
			}
		})
	})
}

func (f *publishForm) loadKeys(ctx app.Context) {
	ctx = f.ui
	ctx.Async(func() {
		v, err := f.App.Vault()
		if err != nil {
			return
		}
		infos, err := v.List(ctx)
		if err != nil {
			return
		}
		ctx.Dispatch(func(app.Context) {
			f.keys = infos
			if f.keyID == "" {
				for _, i := range infos {
					if i.Algorithm.CanSign() {
						f.keyID = i.ID
						break
					}
				}
			}
		})
	})
}

func firstChannel(p client.Product) string {
	if len(p.Channels) > 0 {
		return p.Channels[0]
	}
	return ""
}

func (f *publishForm) productByName(name string) client.Product {
	for _, p := range f.products {
		if p.Name == name {
			return p
		}
	}
	return client.Product{}
}

func (f *publishForm) value(ptr *string) app.EventHandler {
	return func(ctx app.Context, e app.Event) { *ptr = ctx.JSSrc().Get("value").String() }
}

func (f *publishForm) picked(ctx app.Context, e app.Event) {
	fs, err := inputFiles("publish-file")
	if err != nil || len(fs) == 0 {
		f.fileName, f.fileSize = "", 0
		return
	}
	// The version stays what the engineer typed: a value put there for
	// them would be published by accident, or typed after.
	f.fileName, f.fileSize = fs[0].Name, fs[0].Size
}

func (f *publishForm) textField(id, label, placeholder string, ptr *string) app.UI {
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		app.Input().ID(id).DataSet("testid", id).Type("text").Placeholder(placeholder).Value(*ptr).OnInput(f.value(ptr), app.EventScope(id)),
	)
}

func (f *publishForm) selectField(id, label string, ptr *string, opts [][2]string, onChange func()) app.UI {
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		app.Select().ID(id).DataSet("testid", id).OnChange(func(ctx app.Context, e app.Event) {
			*ptr = ctx.JSSrc().Get("value").String()
			if onChange != nil {
				onChange()
			}
		}, app.EventScope(id)).Body(app.Range(opts).Slice(func(n int) app.UI {
			return app.Option().Value(opts[n][0]).Selected(opts[n][0] == *ptr).Text(opts[n][1])
		})),
	)
}

func (f *publishForm) options() (products, channels, signers, devices, aligns [][2]string) {
	for _, p := range f.products {
		products = append(products, [2]string{p.Name, p.Name})
	}
	for _, c := range f.productByName(f.product).Channels {
		channels = append(channels, [2]string{c, c})
	}
	devices = append(devices, [2]string{"", "no device encryption"})
	for _, k := range f.keys {
		label := k.Name + " (" + string(k.Algorithm) + ", " + k.Fingerprint() + ")"
		switch {
		case k.Algorithm.CanSign():
			signers = append(signers, [2]string{k.ID, label})
		case k.Algorithm == vault.X25519:
			devices = append(devices, [2]string{k.ID, "encrypt to " + label})
		}
	}
	for _, a := range []string{"1", "2", "4", "8", "16", "32"} {
		aligns = append(aligns, [2]string{a, a})
	}
	return
}

// ageRecipients lists the recipients a release can be encrypted to: the
// server's directory, then this vault's own age identities.
func (f *publishForm) ageRecipients() []client.Recipient {
	out := append([]client.Recipient(nil), f.recipients...)
	me, _ := f.App.Session()
	for _, k := range f.keys {
		if k.Algorithm.IsAge() {
			out = append(out, client.Recipient{User: me.User + " (this vault: " + k.Name + ")", Role: "you", Recipient: k.Public})
		}
	}
	return out
}

func (f *publishForm) Render() app.UI {
	products, channels, signers, devices, aligns := f.options()
	recips := f.ageRecipients()
	return app.Section().ID("publish").Class("panel").Aria("label", "Publish a release").Body(
		app.H2().Text("Publish a release"),
		app.P().Class("muted").Text("The firmware is signed and encrypted in this browser; only the signed manifest and the ciphertext are uploaded."),
		app.Form().ID("publish-form").Class("form").OnSubmit(f.publish).Body(
			app.Div().Class("field").Body(
				app.Label().For("publish-file").Text("Firmware (.bin or .hex)"),
				app.Input().ID("publish-file").DataSet("testid", "publish-file").Type("file").Accept(".bin,.hex").OnChange(f.picked),
				app.If(f.fileName != "", func() app.UI {
					return app.Span().ID("publish-file-info").Class("muted").Text(f.fileName + ", " + sizeText(f.fileSize))
				}),
			),
			app.FieldSet().Body(
				app.Legend().Text("Release"),
				f.selectField("publish-product", "Product", &f.product, products, func() { f.channel = firstChannel(f.productByName(f.product)) }),
				f.textField("publish-version", "Version", "1.2.3 or 1.2.3+4", &f.version),
				f.textField("publish-counter", "Security counter", "empty: none", &f.counter),
				f.selectField("publish-channel", "Channel", &f.channel, channels, nil),
				f.textField("publish-hardware", "Hardware (comma-separated)", "e.g. rev-b, rev-c", &f.hardware),
				app.Div().Class("field").Body(
					app.Label().For("publish-notes").Text("Release notes"),
					app.Textarea().ID("publish-notes").DataSet("testid", "publish-notes").Rows(3).Text(f.notes).OnInput(f.value(&f.notes)),
				),
			),
			app.FieldSet().Body(
				app.Legend().Text("MCUboot signing"),
				f.selectField("publish-key", "Signing key", &f.keyID, signers, nil),
				f.textField("publish-header-size", "Header size", "0x200", &f.headerSize),
				app.Div().Class("field field-check").Body(
					app.Input().ID("publish-pad-header").DataSet("testid", "publish-pad-header").Type("checkbox").Checked(f.padHeader).
						OnChange(func(ctx app.Context, e app.Event) { f.padHeader = ctx.JSSrc().Get("checked").Bool() }),
					app.Label().For("publish-pad-header").Text("Pad header (the binary does not start with the header space)"),
				),
				f.selectField("publish-align", "Flash write alignment", &f.align, aligns, nil),
				f.textField("publish-slot-size", "Slot size", "e.g. 0x40000; empty: no check", &f.slotSize),
				f.selectField("publish-encrypt", "Device encryption", &f.encryptTo, devices, nil),
			),
			app.FieldSet().ID("publish-recipients").Body(
				app.Legend().Text("Who may open it (age recipients)"),
				app.If(len(recips) == 0, func() app.UI {
					return app.P().Class("muted").Text("No recipients yet: technicians and stations publish theirs from their Keys page.")
				}),
				app.Range(recips).Slice(func(n int) app.UI {
					r := recips[n]
					id := "recipient-" + strconv.Itoa(n)
					return app.Div().Class("field field-check").Body(
						app.Input().ID(id).DataSet("testid", "recipient").DataSet("user", r.User).DataSet("recipient", r.Recipient).
							Type("checkbox").Checked(f.chosen[r.Recipient]).
							OnChange(func(ctx app.Context, e app.Event) { f.chosen[r.Recipient] = ctx.JSSrc().Get("checked").Bool() }, app.EventScope(r.Recipient)),
						app.Label().For(id).Body(
							app.Text(r.User+" ("+r.Role+") "),
							app.Code().Class("muted").Text(shortRecipient(r.Recipient)),
						),
					)
				}),
			),
			app.Div().Class("form-actions").Body(
				app.Button().ID("publish-submit").DataSet("testid", "publish-submit").Type("submit").Disabled(f.running).Text("Publish"),
				app.If(f.running, func() app.UI {
					return app.Button().ID("publish-cancel").DataSet("testid", "publish-cancel").Type("button").Class("btn-ghost").
						Text("Cancel").OnClick(func(ctx app.Context, e app.Event) {
						if f.cancel != nil {
							f.cancel()
						}
					})
				}),
			),
		),
		app.If(f.running, func() app.UI {
			return &progressBar{ID: "publish-progress", Label: stageLabel(f.stage), Done: f.done, Total: f.total}
		}),
		app.If(f.err != "", func() app.UI {
			return app.P().ID("publish-error").DataSet("testid", "publish-error").Class("error").Aria("live", "assertive").Text(f.err)
		}),
		app.If(f.result != nil, func() app.UI { return f.renderResult() }),
	)
}

func (f *publishForm) renderResult() app.UI {
	r := f.result
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	return app.Div().ID("publish-result").DataSet("testid", "publish-result").DataSet("release", r.Release.ID).Class("result").Body(
		app.P().ID("publish-done").Class("ok").Aria("live", "polite").Text(
			"Uploaded "+r.Release.Product+" "+r.Release.Version+" to "+r.Release.Channel+" as release "+r.Release.ID[:16]+"…"),
		app.P().ID("publish-timing").DataSet("testid", "publish-timing").
			DataSet("read-ms", ms(r.Timing.Read)).DataSet("sign-ms", ms(r.Timing.Sign)).
			DataSet("encrypt-ms", ms(r.Timing.Encrypt)).DataSet("upload-ms", ms(r.Timing.Upload)).
			DataSet("total-ms", ms(r.Timing.Total)).Class("muted").
			Text("Read "+ms(r.Timing.Read)+" ms, signed "+ms(r.Timing.Sign)+" ms, encrypted "+ms(r.Timing.Encrypt)+
				" ms, uploaded "+ms(r.Timing.Upload)+" ms; "+ms(r.Timing.Total)+" ms in all."),
		app.H3().Text("Signed manifest"),
		app.Pre().ID("publish-manifest").DataSet("testid", "publish-manifest").Class("manifest").Text(r.Manifest),
	)
}

func stageLabel(s release.Stage) string {
	switch s {
	case release.StageRead:
		return "Reading the file"
	case release.StageSign:
		return "Signing the image"
	case release.StageEncrypt:
		return "Encrypting and signing the release"
	case release.StageUpload:
		return "Uploading"
	}
	return "Working"
}

func shortRecipient(r string) string {
	if len(r) > 20 {
		return r[:12] + "…" + r[len(r)-6:]
	}
	return r
}

func manifestJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
