package identity

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/pki"
	"trustforge/internal/apiwire"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// caPanel shows the CA hierarchy and creates, backs up and restores it.
type caPanel struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// CAs is the hierarchy, root first.
	CAs []pki.CAInfo
	// Unlocked says the vault is unlocked: CA keys can be made and used.
	Unlocked bool
	// OnChange is called after the hierarchy changed.
	OnChange func(app.Context)

	org, product            string
	backupPass, restorePass string
	restoreName             string // the CA backup file chosen
	busy                    bool
	msg, err                string

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (c *caPanel) OnMount(ctx app.Context) { c.ui = ctx }

// run does f off the UI goroutine and reports its outcome.
func (c *caPanel) run(ctx app.Context, f func(a *pki.Authority) (string, error)) {
	ctx = c.ui
	if c.busy {
		return
	}
	c.busy, c.msg, c.err = true, "", ""
	ctx.Async(func() {
		a, err := c.App.Authority(ctx)
		msg := ""
		if err == nil {
			if _, err = c.App.UnlockedVault(); err == nil {
				msg, err = f(a)
			}
		}
		ctx.Dispatch(func(ctx app.Context) {
			c.busy = false
			if err != nil {
				c.err = kit.DescribeIdentity(err)
				return
			}
			c.msg = msg
			if c.OnChange != nil {
				c.OnChange(ctx)
			}
		})
	})
}

func (c *caPanel) createRoot(ctx app.Context, e app.Event) {
	e.PreventDefault()
	org := c.org
	c.run(ctx, func(a *pki.Authority) (string, error) {
		r, err := a.InitRoot(ctx, pki.RootOptions{Organization: org})
		if err != nil {
			return "", err
		}
		return "Created the root CA " + r.Name() + ".", nil
	})
}

func (c *caPanel) addIntermediate(ctx app.Context, e app.Event) {
	e.PreventDefault()
	product := c.product
	c.run(ctx, func(a *pki.Authority) (string, error) {
		i, err := a.AddIntermediate(ctx, pki.IntermediateOptions{Product: product})
		if err != nil {
			return "", err
		}
		c.product = ""
		msg := "Created the intermediate CA " + i.Name() + "."
		if kit.CanRegistry(c.App, apiwire.PermKeys) {
			// The engineer who makes a product's CA also makes its root
			// the product's trust anchor on the server (audited there).
			root, err := a.Root(ctx)
			var cert *x509.Certificate
			if err == nil {
				cert, err = root.Certificate()
			}
			if err == nil {
				var added bool
				if added, err = c.App.API.EnsureDeviceRoot(ctx, product, cert, "registered from the Identity page with the product's intermediate CA"); added {
					msg += " The server now trusts boards of " + product + " that chain to this root."
				}
			}
			if err != nil {
				msg += " The root is not registered with the server yet (" + kit.DescribeIdentity(err) + "): provisioning registers it."
			}
		}
		return msg, nil
	})
}

func (c *caPanel) backup(ctx app.Context, e app.Event) {
	e.PreventDefault()
	pass := c.backupPass
	c.run(ctx, func(a *pki.Authority) (string, error) {
		data, err := a.Backup(ctx, pass, 0)
		if err != nil {
			return "", err
		}
		name := "trustforge-ca-" + time.Now().UTC().Format("20060102-150405") + ".age"
		if err := kit.SaveFile(name, "application/octet-stream", data); err != nil {
			return "", err
		}
		c.backupPass = ""
		return "Saved the CA backup " + name + ": it holds the CA keys, sealed with its passphrase. Keep it offline.", nil
	})
}

func (c *caPanel) restore(ctx app.Context, e app.Event) {
	e.PreventDefault()
	fs, err := kit.InputFiles("ca-restore-file")
	if err != nil || len(fs) == 0 {
		c.err = "Choose a CA backup file first."
		return
	}
	pass := c.restorePass
	c.run(ctx, func(a *pki.Authority) (string, error) {
		data, err := fs[0].Read(ctx, 64<<20, nil)
		if err != nil {
			return "", err
		}
		res, err := a.Restore(ctx, data, pass)
		if err != nil {
			return "", err
		}
		c.restorePass = ""
		kit.ClearInput("ca-restore-file")
		c.App.VaultChanged()
		return fmt.Sprintf("Restored %d CA(s), %d new here.", len(res.CAs), res.Added), nil
	})
}

func (c *caPanel) download(ctx app.Context, ca pki.CAInfo) {
	cert, err := ca.Certificate()
	if err == nil {
		name := "root.pem"
		if ca.Kind == pki.KindIntermediate {
			name = ca.Product + "-intermediate.pem"
		}
		err = kit.SaveFile(name, "application/x-pem-file", pki.CertPEM(cert))
	}
	if err != nil {
		c.err = kit.DescribeIdentity(err)
	}
}

func (c *caPanel) Render() app.UI {
	hasRoot := len(c.CAs) > 0 && c.CAs[0].Kind == pki.KindRoot
	return app.Section().ID("ca").Class("panel").Aria("label", "Certificate authority").Body(
		app.H2().Text("Certificate authority"),
		app.If(!hasRoot, func() app.UI {
			return app.Div().Body(
				app.P().Class("muted").Text("No CA yet. The root certifies one intermediate per product; each intermediate may only certify its own product's boards."),
				app.Form().ID("ca-root-form").Class("form-inline").OnSubmit(c.createRoot).Body(
					kit.Pair(app.Label().For("ca-org").Text("Organisation"),
						app.Input().ID("ca-org").DataSet("testid", "ca-org").Type("text").Required(true).Placeholder("e.g. Acme Devices").
							Value(c.org).OnInput(func(ctx app.Context, e app.Event) { c.org = ctx.JSSrc().Get("value").String() })),
					app.Button().ID("ca-create-root").DataSet("testid", "ca-create-root").Class("btn-primary").Type("submit").Disabled(c.busy || !c.Unlocked).Text("Create root CA"),
				),
			)
		}),
		app.If(hasRoot, func() app.UI {
			return app.Table().ID("ca-table").Class("table").Body(
				app.THead().Body(app.Tr().Body(app.Th().Text("CA"), app.Th().Text("Product"), app.Th().Text("Key"), app.Th().Text("Valid until"), app.Th().Text("Download"))),
				app.TBody().Body(app.Range(c.CAs).Slice(func(i int) app.UI {
					ca := c.CAs[i]
					until := ""
					if cert, err := ca.Certificate(); err == nil {
						until = cert.NotAfter.Format("2006-01-02")
					}
					id := "ca-" + ca.Kind
					if ca.Product != "" {
						id += "-" + ca.Product
					}
					return app.Tr().ID(id).DataSet("testid", "ca-row").Body(
						app.Td().Body(app.Strong().Text(ca.Kind), app.Br(), app.Span().Class("muted").Text(ca.Name())),
						app.Td().Text(ca.Product),
						app.Td().Body(app.Code().Class("fingerprint").Text(ca.ID[:16])),
						app.Td().Text(until),
						kit.ActionsCell(app.Button().Class("btn-small").ID(id+"-download").Text("Certificate").
							OnClick(func(ctx app.Context, e app.Event) { c.download(ctx, ca) }, app.EventScope(ca.ID))),
					)
				})),
			)
		}),
		app.If(hasRoot, func() app.UI {
			return app.Form().ID("ca-intermediate-form").Class("form-inline").OnSubmit(c.addIntermediate).Body(
				kit.Pair(app.Label().For("ca-product").Text("New product intermediate"),
					app.Input().ID("ca-product").DataSet("testid", "ca-product").Type("text").Required(true).Placeholder("product name, e.g. thermo").
						Value(c.product).OnInput(func(ctx app.Context, e app.Event) { c.product = ctx.JSSrc().Get("value").String() })),
				app.Button().ID("ca-add-intermediate").DataSet("testid", "ca-add-intermediate").Class("btn-primary").Type("submit").Disabled(c.busy || !c.Unlocked).Text("Create intermediate CA"),
			)
		}),
		app.If(hasRoot, func() app.UI {
			return app.Form().ID("ca-backup-form").Class("form-inline").OnSubmit(c.backup).Body(
				kit.Pair(app.Label().For("ca-backup-pass").Text("Backup passphrase"),
					app.Input().ID("ca-backup-pass").DataSet("testid", "ca-backup-pass").Type("password").Attr("autocomplete", "new-password").Required(true).Value(c.backupPass).
						OnInput(func(ctx app.Context, e app.Event) { c.backupPass = ctx.JSSrc().Get("value").String() })),
				app.Button().ID("ca-backup").DataSet("testid", "ca-backup").Type("submit").Disabled(c.busy || !c.Unlocked).Text("Back up the CA"),
			)
		}),
		app.Form().ID("ca-restore-form").Class("form-inline").OnSubmit(c.restore).Body(
			kit.Pair(app.Label().For("ca-restore-file").Text("Restore a CA backup"),
				kit.FilePicker("ca-restore-file", "Choose the backup…", ".age", c.restoreName,
					func(ctx app.Context, e app.Event) { c.restoreName = kit.ChosenName(ctx) })),
			kit.Pair(app.Label().For("ca-restore-pass").Text("Its passphrase"),
				app.Input().ID("ca-restore-pass").DataSet("testid", "ca-restore-pass").Type("password").Attr("autocomplete", "current-password").Value(c.restorePass).
					OnInput(func(ctx app.Context, e app.Event) { c.restorePass = ctx.JSSrc().Get("value").String() })),
			app.Button().ID("ca-restore").DataSet("testid", "ca-restore").Type("submit").Disabled(c.busy || !c.Unlocked).Text("Restore"),
		),
		app.If(!c.Unlocked, func() app.UI {
			return app.P().Class("muted").Text("Unlock the vault to create, back up or use the CA.")
		}),
		app.If(c.msg != "", func() app.UI {
			return app.P().ID("ca-message").DataSet("testid", "ca-message").Class("ok").Aria("live", "polite").Text(c.msg)
		}),
		app.If(c.err != "", func() app.UI {
			return app.P().ID("ca-error").DataSet("testid", "ca-error").Class("error").Aria("live", "assertive").Text(c.err)
		}),
	)
}
