package keys

import (
	"errors"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/vault"
	"trustforge/internal/apiwire"
	"trustforge/wasm/client"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// keyList shows the vault's keys: name, algorithm and use, fingerprint
// (MCUboot's KEYHASH), public exports, and the actions the vault's state
// and the signed-in role allow.
type keyList struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// Infos are the vault's keys.
	Infos []vault.Info
	// Unlocked says the vault is unlocked.
	Unlocked bool

	products []client.Product
	product  string // chosen product for registration
	msg, err string
	busy     bool

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (l *keyList) OnMount(ctx app.Context) {
	l.ui = ctx
	if app.IsClient {
		l.loadProducts(ctx)
	}
}

// OnUpdate follows the page: the vault's keys or its lock changed, or the
// session appeared, and the products may have changed since.
func (l *keyList) OnUpdate(ctx app.Context) { l.loadProducts(ctx) }

func (l *keyList) loadProducts(ctx app.Context) {
	ctx = l.ui
	if !l.App.Can(apiwire.PermRead) {
		return
	}
	ctx.Async(func() {
		ps, err := l.App.API.Products(ctx)
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				l.err = kit.Describe(err)
				return
			}
			l.products = ps
			if !hasProduct(ps, l.product) {
				l.product = ""
			}
			if l.product == "" && len(ps) > 0 {
				l.product = ps[0].Name
			}
		})
	})
}

// hasProduct reports whether ps lists a product called name.
func hasProduct(ps []client.Product, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

// keySlug is a key's short id for element ids: its fingerprint.
func keySlug(i vault.Info) string { return i.Fingerprint() }

// fileBase is a file name made from a key's name.
func fileBase(i vault.Info) string {
	var b strings.Builder
	for _, r := range strings.ToLower(i.Name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ', r == '.':
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "key-" + i.Fingerprint()[:8]
	}
	return b.String()
}

func (l *keyList) status(msg string, err error) {
	l.busy = false
	l.msg, l.err = msg, ""
	if err != nil {
		l.msg, l.err = "", kit.Describe(err)
	}
}

// export saves a public form of the key.
func (l *keyList) export(ctx app.Context, i vault.Info, format string) {
	l.App.Touch()
	var (
		data []byte
		name = fileBase(i)
		mime = "application/octet-stream"
	)
	if i.Algorithm.IsAge() {
		data, name, mime = []byte(i.Public+"\n"), name+".recipient.txt", "text/plain"
	} else {
		pub, err := i.PublicKey()
		if err != nil {
			l.status("", err)
			return
		}
		switch format {
		case "pem":
			data, name, mime = pub.MarshalPEM(), name+"-pub.pem", "application/x-pem-file"
		case "der":
			data, name = pub.SPKI(), name+"-pub.der"
		case "c":
			data, name, mime = []byte(pub.CSource()), name+"-pub.c", "text/x-c"
		}
	}
	if err := kit.SaveFile(name, mime, data); err != nil {
		l.status("", err)
		return
	}
	l.status("Saved "+name+".", nil)
}

// register adds a signing key's public half to the chosen product.
func (l *keyList) register(ctx app.Context, i vault.Info) {
	ctx = l.ui
	product := l.product
	if product == "" {
		l.status("", kit.ErrNoProduct)
		return
	}
	l.busy, l.msg, l.err = true, "", ""
	l.App.Touch()
	ctx.Async(func() {
		k, err := l.App.API.AddKey(ctx, product, i.Public, i.Name)
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				if errors.Is(err, apiwire.CodeExists) {
					l.status(i.Name+" is already registered with "+product+".", nil)
					return
				}
				l.status("", err)
				return
			}
			l.status("Registered "+i.Name+" with "+product+" (fingerprint "+k.Fingerprint[:16]+"…).", nil)
		})
	})
}

// publishRecipient publishes an age identity's recipient as the signed-in
// account's, so engineers can encrypt releases to it by name.
func (l *keyList) publishRecipient(ctx app.Context, i vault.Info) {
	ctx = l.ui
	l.busy, l.msg, l.err = true, "", ""
	l.App.Touch()
	ctx.Async(func() {
		_, err := l.App.API.SetRecipient(ctx, i.Public)
		ctx.Dispatch(func(app.Context) {
			s, _ := l.App.Session()
			l.status("Published "+i.Name+" as the release recipient of "+s.User+".", err)
		})
	})
}

func (l *keyList) remove(ctx app.Context, i vault.Info) {
	ctx = l.ui
	l.busy = true
	ctx.Async(func() {
		v, err := l.App.UnlockedVault()
		if err == nil {
			err = v.Delete(ctx, i.ID)
		}
		ctx.Dispatch(func(app.Context) {
			l.status("Deleted "+i.Name+".", err)
			l.App.VaultChanged()
		})
	})
}

func (l *keyList) button(id, label, keyName, title string, onClick app.EventHandler) app.HTMLButton {
	// The accessible name starts with the visible label (WCAG 2.5.3),
	// and names the key; the title says more.
	return app.Button().ID(id).DataSet("testid", id).Class("btn-small").Title(title).Aria("label", label+" ("+keyName+")").
		Disabled(l.busy).Text(label).OnClick(onClick, app.EventScope(id))
}

func (l *keyList) row(i vault.Info) app.UI {
	slug := keySlug(i)
	canRegister := i.Algorithm.CanSign() && l.App.Can(apiwire.PermKeys)
	_, signedIn := l.App.Session()
	actions := []app.UI{}
	if i.Algorithm.IsAge() {
		actions = append(actions, l.button("key-export-recipient-"+slug, "Recipient", i.Name, "Save the age recipient of "+i.Name,
			func(ctx app.Context, e app.Event) { l.export(ctx, i, "txt") }).Class("btn-ghost"))
		if signedIn {
			actions = append(actions, l.button("key-publish-"+slug, "Publish as my recipient", i.Name,
				"Publish "+i.Name+" as your release recipient on the server",
				func(ctx app.Context, e app.Event) { l.publishRecipient(ctx, i) }))
		}
	} else {
		for _, f := range []struct{ id, label string }{{"pem", "PEM"}, {"der", "DER"}, {"c", "C array"}} {
			actions = append(actions, l.button("key-export-"+f.id+"-"+slug, f.label, i.Name, "Save the public key of "+i.Name+" as "+f.label,
				func(ctx app.Context, e app.Event) { l.export(ctx, i, f.id) }).Class("btn-ghost"))
		}
	}
	if canRegister {
		actions = append(actions, l.button("key-register-"+slug, "Register with "+orDash(l.product), i.Name,
			"Register the public key of "+i.Name+" with product "+l.product,
			func(ctx app.Context, e app.Event) { l.register(ctx, i) }))
	}
	if l.Unlocked {
		actions = append(actions, l.button("key-delete-"+slug, "Delete", i.Name, "Delete "+i.Name+" from this vault",
			func(ctx app.Context, e app.Event) { l.remove(ctx, i) }).Class("btn-small btn-danger"))
	}
	return app.Tr().ID("key-"+slug).DataSet("testid", "key-row").DataSet("key-id", i.ID).
		DataSet("algorithm", string(i.Algorithm)).Body(
		app.Td().Body(app.Strong().Class("key-name").Text(i.Name)),
		app.Td().Body(app.Span().Text(string(i.Algorithm)), app.Br(), app.Span().Class("muted").Text(i.Algorithm.Use())),
		app.Td().Body(app.Code().Class("fingerprint").ID("key-hash-"+slug).DataSet("testid", "key-hash").
			Title("SHA-256 of the public key (MCUboot KEYHASH)").Text(i.ID)),
		kit.ActionsCell(actions...),
	)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (l *keyList) Render() app.UI {
	return app.Section().ID("key-list").Class("panel").Aria("label", "Keys in this vault").Body(
		app.H2().Text("Keys in this vault"),
		app.If(len(l.Infos) == 0, func() app.UI {
			return app.P().ID("keys-empty").Class("muted").Text("No keys yet: generate one or import an imgtool key file.")
		}).Else(func() app.UI {
			return app.Table().ID("keys-table").Class("table").Body(
				app.THead().Body(app.Tr().Body(
					app.Th().Text("Name"), app.Th().Text("Algorithm"), app.Th().Text("Key hash (SHA-256)"), app.Th().Text("Actions"),
				)),
				app.TBody().Body(app.Range(l.Infos).Slice(func(n int) app.UI { return l.row(l.Infos[n]) })),
			)
		}),
		app.If(len(l.products) > 0 && l.App.Can(apiwire.PermKeys), func() app.UI {
			return app.Div().Class("form-inline").Body(
				kit.Pair(app.Label().For("register-product").Text("Register signing keys with product"),
					app.Select().ID("register-product").Class("from-server").DataSet("testid", "register-product").
						// Products come and go while the page is open (an
						// administrator adds one): the list is asked for
						// again whenever the choice is about to be made.
						OnFocus(func(ctx app.Context, e app.Event) { l.loadProducts(ctx) }).
						OnChange(func(ctx app.Context, e app.Event) { l.product = ctx.JSSrc().Get("value").String() }).
						Body(app.Range(l.products).Slice(func(n int) app.UI {
							p := l.products[n]
							return app.Option().Value(p.Name).Selected(p.Name == l.product).Text(p.Name)
						}))),
			)
		}),
		app.If(l.msg != "", func() app.UI {
			return app.P().ID("keys-message").DataSet("testid", "keys-message").Class("ok").Aria("live", "polite").Text(l.msg)
		}),
		app.If(l.err != "", func() app.UI {
			return app.P().ID("keys-error").DataSet("testid", "keys-error").Class("error").Aria("live", "assertive").Text(l.err)
		}),
	)
}
