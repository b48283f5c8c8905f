package releases

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
	"trustforge/wasm/ui/kit"
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
	// Draft is what the engineer chose and typed, kept across visits to
	// the page. Required.
	Draft *Draft

	products   []client.Product
	recipients []client.Recipient
	keys       []vault.Info
	loaded     bool // the products were listed
	making     bool // making the engineer's own recipient
	// keysAsked and recipientsAsked count the listings of the vault and
	// the directory: an answer is taken only when no later one was asked
	// or taken, so a slow early listing never replaces a newer one (the
	// engineer's own recipient, just made, would vanish from the form).
	keysAsked, recipientsAsked int
	stopDrop                   func()

	running bool
	stage   release.Stage
	done    int64
	total   int64
	cancel  context.CancelFunc
	err     string
	result  *publishResult
	unsub   func()

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
	me, _ := f.App.Session()
	f.Draft.forUser(me.User)
	if !app.IsClient {
		return
	}
	f.unsub = kit.Follow(ctx, f.App, f.loadKeys)
	if stop, err := kit.ListenDrop("publish-drop", func(fs []kit.PickedFile) {
		ctx.Dispatch(func(ctx app.Context) { f.takeFile(fs) })
	}); err == nil {
		f.stopDrop = stop
	}
	f.load(ctx)
}

func (f *publishForm) OnDismount() {
	if f.unsub != nil {
		f.unsub()
	}
	if f.stopDrop != nil {
		f.stopDrop()
	}
	if f.cancel != nil {
		f.cancel()
	}
}

// load fetches products and the recipient directory, and the vault's keys.
func (f *publishForm) load(ctx app.Context) {
	ctx = f.ui
	f.loadKeys(ctx)
	f.recipientsAsked++
	asked := f.recipientsAsked
	ctx.Async(func() {
		ps, err := f.App.API.Products(ctx)
		rs, rerr := f.App.API.Recipients(ctx)
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				f.err = kit.Describe(err)
				return
			}
			if rerr != nil {
				f.err = kit.Describe(rerr)
			}
			f.products, f.loaded = ps, true
			if asked == f.recipientsAsked {
				f.recipients = rs
			}
			f.tickOwn()
			if f.Draft.product == "" && len(ps) > 0 {
				f.Draft.product = ps[0].Name
				f.Draft.channel = firstChannel(ps[0])
			}
		})
	})
}

func (f *publishForm) loadKeys(ctx app.Context) {
	ctx = f.ui
	f.keysAsked++
	asked := f.keysAsked
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
			if asked != f.keysAsked {
				return
			}
			f.keys = infos
			f.tickOwn()
			if f.Draft.keyID == "" {
				for _, i := range infos {
					if i.Algorithm.CanSign() {
						f.Draft.keyID = i.ID
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
	fs, err := kit.InputFiles("publish-file")
	kit.ClearInput("publish-file")
	if err != nil {
		f.Draft.fileErr = kit.Describe(err)
		return
	}
	f.takeFile(fs)
}

// takeFile keeps the firmware chosen or dropped. The version stays what
// the engineer typed: a value put there for them would be published by
// accident, or typed after.
func (f *publishForm) takeFile(fs []kit.PickedFile) {
	switch {
	case len(fs) == 0:
		return
	case len(fs) > 1:
		f.Draft.fileErr = "Drop one firmware file at a time."
		return
	}
	name := strings.ToLower(fs[0].Name)
	if !strings.HasSuffix(name, ".bin") && !strings.HasSuffix(name, ".hex") {
		f.Draft.fileErr = fs[0].Name + " is neither a .bin nor a .hex file."
		return
	}
	file := fs[0]
	f.Draft.file, f.Draft.fileErr = &file, ""
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
	for _, c := range f.productByName(f.Draft.product).Channels {
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

// recipientChoice is one recipient the form offers.
type recipientChoice struct {
	client.Recipient
	Own  bool // the signed-in person's: published by them or in this vault
	Here bool // its identity is in this browser's vault: releases to it open here
}

// ageRecipients lists the recipients a release can be encrypted to, each
// once: the signed-in person's own first (the directory's entry, or this
// vault's age identities not published yet), then the directory's others.
func (f *publishForm) ageRecipients() []recipientChoice {
	me, _ := f.App.Session()
	return mergeRecipients(me.User, f.recipients, f.keys)
}

// mergeRecipients lists the directory's recipients and the vault's age
// identities once each, user's own first.
func mergeRecipients(user string, dir []client.Recipient, keys []vault.Info) []recipientChoice {
	var own, others []recipientChoice
	seen := map[string]bool{}
	inVault := map[string]string{} // recipient → key name
	for _, k := range keys {
		if k.Algorithm.IsAge() {
			inVault[k.Public] = k.Name
		}
	}
	for _, r := range dir {
		if seen[r.Recipient] {
			continue
		}
		seen[r.Recipient] = true
		if name, ok := inVault[r.Recipient]; ok || (user != "" && r.User == user) {
			if ok {
				r.User += " (you, " + name + ")"
			} else {
				r.User += " (you)"
			}
			own = append(own, recipientChoice{Recipient: r, Own: true, Here: ok})
			continue
		}
		others = append(others, recipientChoice{Recipient: r})
	}
	for _, k := range keys {
		if !k.Algorithm.IsAge() || seen[k.Public] {
			continue
		}
		seen[k.Public] = true
		own = append(own, recipientChoice{Recipient: client.Recipient{User: user + " (you, " + k.Name + ", in this vault only)",
			Role: "you", Recipient: k.Public}, Own: true, Here: true})
	}
	return append(own, others...)
}

func (f *publishForm) Render() app.UI {
	products, channels, signers, devices, aligns := f.options()
	recips := f.ageRecipients()
	if f.loaded && len(f.products) == 0 {
		return app.Section().ID("publish").Class("panel").Aria("label", "Publish a release").Body(
			app.H2().Text("Publish a release"), kit.NoProduct("publish-no-product", "publish a release of"))
	}
	return app.Section().ID("publish").Class("panel").Aria("label", "Publish a release").Body(
		app.H2().Text("Publish a release"),
		app.P().Class("muted").Text("The firmware is signed and encrypted in this browser; only the signed manifest and the ciphertext are uploaded."),
		app.Form().ID("publish-form").Class("form").OnSubmit(f.publish).Body(
			f.renderFile(),
			// The release and its signing side by side: the form fits a
			// screen instead of three.
			app.Div().Class("form-cols").Body(app.FieldSet().Body(
				app.Legend().Text("Release"),
				f.selectField("publish-product", "Product", &f.Draft.product, products, func() { f.Draft.channel = firstChannel(f.productByName(f.Draft.product)) }),
				f.textField("publish-version", "Version", "1.2.3 or 1.2.3+4", &f.Draft.version),
				f.textField("publish-counter", "Security counter", "empty: none", &f.Draft.counter),
				f.selectField("publish-channel", "Channel", &f.Draft.channel, channels, nil),
				f.textField("publish-hardware", "Hardware (comma-separated)", "e.g. rev-b, rev-c", &f.Draft.hardware),
				app.Div().Class("field").Body(
					app.Label().For("publish-notes").Text("Release notes"),
					app.Textarea().ID("publish-notes").DataSet("testid", "publish-notes").Rows(3).Text(f.Draft.notes).OnInput(f.value(&f.Draft.notes)),
				),
			),
				app.FieldSet().Body(
					app.Legend().Text("MCUboot signing"),
					f.selectField("publish-key", "Signing key", &f.Draft.keyID, signers, nil),
					f.textField("publish-header-size", "Header size", "0x200", &f.Draft.headerSize),
					app.Div().Class("field field-check").Body(
						app.Input().ID("publish-pad-header").DataSet("testid", "publish-pad-header").Type("checkbox").Checked(f.Draft.padHeader).
							OnChange(func(ctx app.Context, e app.Event) { f.Draft.padHeader = ctx.JSSrc().Get("checked").Bool() }),
						app.Label().For("publish-pad-header").Text("Pad header (the binary does not start with the header space)"),
					),
					f.selectField("publish-align", "Flash write alignment", &f.Draft.align, aligns, nil),
					f.textField("publish-slot-size", "Slot size", "e.g. 0x40000; empty: no check", &f.Draft.slotSize),
					f.selectField("publish-encrypt", "Device encryption", &f.Draft.encryptTo, devices, nil),
				)),
			f.renderRecipients(recips),
			app.Div().Class("form-actions").Body(
				app.Button().ID("publish-submit").DataSet("testid", "publish-submit").Class("btn-primary").Type("submit").Disabled(f.running).Text("Publish"),
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
			return &kit.ProgressBar{ID: "publish-progress", Label: stageLabel(f.stage), Done: f.done, Total: f.total}
		}),
		app.If(f.err != "", func() app.UI {
			return app.P().ID("publish-error").DataSet("testid", "publish-error").Class("error").Aria("live", "assertive").Text(f.err)
		}),
		app.If(f.result != nil, func() app.UI { return f.renderResult() }),
	)
}

// renderFile is the firmware picker: a drop zone with a button.
func (f *publishForm) renderFile() app.UI {
	d := f.Draft
	return app.Div().ID("publish-drop").DataSet("testid", "publish-drop").Class("dropzone field").Body(
		app.If(d.file == nil, func() app.UI {
			return app.P().Class("dropzone-hint").Text("Drop the firmware (.bin or .hex) here, or")
		}).Else(func() app.UI {
			return app.P().ID("publish-file-info").DataSet("testid", "publish-file-info").Body(
				app.Strong().Text(d.file.Name), app.Text(", "+kit.SizeText(d.file.Size)))
		}),
		app.Label().For("publish-file").Class("button btn-secondary").Text(map[bool]string{true: "Choose another file…", false: "Choose the firmware…"}[d.file != nil]),
		app.Input().ID("publish-file").DataSet("testid", "publish-file").Type("file").Class("visually-hidden").
			Accept(".bin,.hex").OnChange(f.picked),
		app.If(d.fileErr != "", func() app.UI {
			return app.P().ID("publish-file-error").Class("error").Aria("live", "assertive").Text(d.fileErr)
		}),
	)
}

// renderRecipients offers every recipient once, the engineer's own first
// and ticked, and makes the engineer's own recipient in one click when
// there is none.
func (f *publishForm) renderRecipients(recips []recipientChoice) app.UI {
	hasOwn, ownHere := false, false
	for _, r := range recips {
		hasOwn = hasOwn || r.Own
		ownHere = ownHere || (r.Own && r.Here)
	}
	unlocked := f.App.VaultState() == state.VaultUnlocked
	return app.FieldSet().ID("publish-recipients").Body(
		app.Legend().Text("Who may open it (age recipients)"),
		app.If(!ownHere && unlocked, func() app.UI {
			why := "You have no recipient yet, so you could not open your own release. " +
				"Make one: an age identity in your vault, published so releases can be encrypted to you."
			if hasOwn {
				why = "Your published recipient's identity is not in this browser's vault, so releases encrypted to it " +
					"open only where that identity is kept. Make one here: it replaces your published recipient."
			}
			return app.Div().Class("callout").Body(
				app.P().ID("publish-recipient-why").Text(why),
				app.Button().ID("publish-make-recipient").DataSet("testid", "publish-make-recipient").Type("button").
					Class("btn-secondary").Disabled(f.making).
					Text(map[bool]string{true: "Making your recipient…", false: "Make my recipient"}[f.making]).
					OnClick(f.makeRecipient),
			)
		}),
		app.If(!hasOwn && !unlocked, func() app.UI {
			return app.P().ID("publish-recipient-vault").Class("muted").Body(
				app.Text("To be a recipient yourself, "), app.A().Href("/keys").Text("unlock your vault on the Keys page"),
				app.Text("; you can then make your recipient here in one click."))
		}),
		app.If(len(recips) == 0, func() app.UI {
			return app.P().ID("publish-no-recipients").Class("muted").
				Text("Nobody else has published a recipient yet: technicians and stations publish theirs from their Keys page.")
		}),
		app.Range(recips).Slice(func(n int) app.UI {
			r := recips[n]
			id := "recipient-" + strconv.Itoa(n)
			role := ""
			if r.Role != "" && r.Role != "you" {
				role = " · " + r.Role
			}
			return app.Div().Class("field field-check").Body(
				app.Input().ID(id).DataSet("testid", "recipient").DataSet("user", r.User).DataSet("recipient", r.Recipient.Recipient).
					DataSet("own", kit.BoolText(r.Own)).DataSet("here", kit.BoolText(r.Here)).Type("checkbox").Checked(f.Draft.chosen[r.Recipient.Recipient]).
					OnChange(func(ctx app.Context, e app.Event) {
						f.Draft.setChosen(r.Recipient.Recipient, ctx.JSSrc().Get("checked").Bool())
					}, app.EventScope(r.Recipient.Recipient)),
				app.Label().For(id).Body(
					app.Text(r.User+role+" "),
					app.Code().Class("muted").Text(shortRecipient(r.Recipient.Recipient)),
				),
			)
		}),
	)
}

// makeRecipient makes the engineer's own recipient: an age identity in the
// vault, published to the server's directory, and ticks it.
func (f *publishForm) makeRecipient(ctx app.Context, e app.Event) {
	ctx = f.ui
	if f.making {
		return
	}
	f.making, f.err = true, ""
	me, _ := f.App.Session()
	f.App.Touch()
	ctx.Async(func() {
		v, err := f.App.UnlockedVault()
		var info vault.Info
		if err == nil {
			info, err = v.Generate(ctx, vault.AgeX25519, strings.TrimSpace(me.User+" release recipient"))
		}
		if err == nil {
			_, err = f.App.API.SetRecipient(ctx, info.Public)
		}
		var rs []client.Recipient
		if err == nil {
			rs, err = f.App.API.Recipients(ctx)
		}
		ctx.Dispatch(func(app.Context) {
			f.making = false
			if err != nil {
				f.err = kit.Describe(err)
				return
			}
			f.recipientsAsked++ // a listing asked before this one is older
			f.recipients = rs
			f.Draft.offerOwn(info.Public)
			f.App.VaultChanged()
		})
	})
}

// tickOwn ticks the engineer's own recipients they have not unticked.
func (f *publishForm) tickOwn() {
	for _, r := range f.ageRecipients() {
		if r.Own {
			f.Draft.offerOwn(r.Recipient.Recipient)
		}
	}
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
