package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/pki"
	"trustforge/internal/apiwire"
	"trustforge/wasm/client"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// anchorsPanel shows, for each product this browser's CA has an
// intermediate for, whether the server trusts the CA's root for it: the
// product's trust anchor, without which the server refuses its boards and
// production orders. An engineer or administrator registers it here (the
// server audits it); provisioning and production orders register it too.
// The panel also lists the product's other active roots (an old CA's,
// while the CA is replaced), and revokes any listed root after an explicit
// confirmation. Handlers read the row's product and fingerprint from the
// clicked element (rows are reused by position); the root waiting for
// confirmation is kept by identity.
type anchorsPanel struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// CAs is the hierarchy, root first.
	CAs []pki.CAInfo

	roots    map[string][]client.DeviceRoot // by product
	loaded   string                         // the products loaded, joined
	busy     bool
	msg, err string
	confirm  anchorRef // the root whose revocation awaits confirmation, if any
	// mount is the component's context: work started by an event goes on
	// with it, as go-app drops a Dispatch whose event element was replaced
	// meanwhile.
	ui app.Context
}

// anchorRef names one trust anchor of one product.
type anchorRef struct {
	Product, Fingerprint string
}

func (a *anchorsPanel) OnMount(ctx app.Context)  { a.ui = ctx; a.load(ctx) }
func (a *anchorsPanel) OnUpdate(ctx app.Context) { a.load(ctx) }

// products lists the products the CA has intermediates for.
func (a *anchorsPanel) products() []string {
	var out []string
	for _, ca := range a.CAs {
		if ca.Kind == pki.KindIntermediate && ca.Product != "" {
			out = append(out, ca.Product)
		}
	}
	return out
}

// rootFingerprint is the hex SHA-256 of the CA's root certificate, as the
// server names roots.
func (a *anchorsPanel) rootFingerprint() (string, bool) {
	if len(a.CAs) == 0 || a.CAs[0].Kind != pki.KindRoot {
		return "", false
	}
	cert, err := a.CAs[0].Certificate()
	if err != nil {
		return "", false
	}
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:]), true
}

// load fetches the products' roots when the products changed.
func (a *anchorsPanel) load(ctx app.Context) {
	ctx = a.ui // set at mount, before the first load
	ps := a.products()
	key := strings.Join(ps, "\x00")
	if _, ok := a.App.Session(); !ok || key == a.loaded || a.busy {
		return
	}
	a.loaded, a.busy = key, true
	ctx.Async(func() {
		roots := map[string][]client.DeviceRoot{}
		var err error
		for _, p := range ps {
			if roots[p], err = a.App.API.DeviceRoots(ctx, p); err != nil {
				break
			}
		}
		ctx.Dispatch(func(app.Context) {
			a.busy, a.roots = false, roots
			if err != nil {
				a.err = kit.DescribeIdentity(err)
			}
		})
	})
}

// register makes the CA's root the trust anchor of the product named by
// the clicked button (read at event time: rows are reused).
func (a *anchorsPanel) register(ctx app.Context, e app.Event) {
	product := ctx.JSSrc().Get("dataset").Get("product").String()
	if a.busy || product == "" || len(a.CAs) == 0 {
		return
	}
	root, err := a.CAs[0].Certificate()
	if err != nil {
		a.err = kit.DescribeIdentity(err)
		return
	}
	a.busy, a.err, a.msg, a.confirm = true, "", "", anchorRef{}
	ctx = a.ui // outlives the element the event came from
	ctx.Async(func() {
		_, err := a.App.API.AddDeviceRoot(ctx, product, root, "registered from the Identity page")
		ctx.Dispatch(func(ctx app.Context) {
			a.busy = false
			if err != nil {
				a.err = kit.DescribeIdentity(err)
				return
			}
			a.msg = "The server now trusts boards and production orders of " + product + " that chain to this CA's root."
			a.loaded = ""
			a.load(ctx)
		})
	})
}

// askRevoke asks to confirm the revocation of the root named by the
// clicked button's data-product and data-fingerprint.
func (a *anchorsPanel) askRevoke(ctx app.Context, e app.Event) {
	ref := anchorRef{Product: kit.TargetData(ctx, "product"), Fingerprint: kit.TargetData(ctx, "fingerprint")}
	if a.busy || ref.Product == "" || ref.Fingerprint == "" {
		return
	}
	a.confirm, a.msg, a.err = ref, "", ""
}

func (a *anchorsPanel) cancelRevoke(ctx app.Context, e app.Event) { a.confirm = anchorRef{} }

// revoke revokes the root named by the confirming button's data-product
// and data-fingerprint as a trust anchor of that product, then reloads.
func (a *anchorsPanel) revoke(ctx app.Context, e app.Event) {
	ref := anchorRef{Product: kit.TargetData(ctx, "product"), Fingerprint: kit.TargetData(ctx, "fingerprint")}
	if a.busy || ref.Product == "" || ref.Fingerprint == "" || ref != a.confirm {
		return
	}
	a.busy, a.err, a.msg = true, "", ""
	ctx = a.ui // outlives the element the event came from
	ctx.Async(func() {
		err := a.App.API.RevokeDeviceRoot(ctx, ref.Product, ref.Fingerprint)
		ctx.Dispatch(func(ctx app.Context) {
			a.busy, a.confirm = false, anchorRef{}
			if err != nil {
				a.err = kit.DescribeIdentity(err)
			} else {
				a.msg = "Revoked root " + shortFingerprint(ref.Fingerprint) + " as a trust anchor of " + ref.Product +
					": the server refuses its boards and production packages that chain only to that root until another root is registered."
			}
			a.loaded = ""
			a.load(ctx)
		})
	})
}

// shortFingerprint abbreviates a hex fingerprint for display.
func shortFingerprint(fp string) string {
	if len(fp) <= 16 {
		return fp
	}
	return fp[:16] + "…"
}

// activeRoots counts the product's roots that are not revoked.
func (a *anchorsPanel) activeRoots(product string) int {
	n := 0
	for _, r := range a.roots[product] {
		if r.Revoked == nil {
			n++
		}
	}
	return n
}

// revokeButton is the danger-styled action that asks to revoke a root;
// it carries the root's identity for the handler.
func (a *anchorsPanel) revokeButton(product, fp, what string) app.UI {
	return app.Button().Type("button").Class("btn-small btn-danger").ID("anchor-"+product+"-"+fp[:min(16, len(fp))]+"-revoke").
		DataSet("testid", "anchor-revoke").DataSet("product", product).DataSet("fingerprint", fp).
		Aria("label", "Revoke "+what+" as a trust anchor of "+product).
		Disabled(a.busy).Text("Revoke…").OnClick(a.askRevoke)
}

// confirmBox says what revoking the root awaiting confirmation does, and
// revokes it only when the person confirms.
func (a *anchorsPanel) confirmBox() app.UI {
	ref := a.confirm
	var root *client.DeviceRoot
	for i, r := range a.roots[ref.Product] {
		if r.Fingerprint == ref.Fingerprint && r.Revoked == nil {
			root = &a.roots[ref.Product][i]
		}
	}
	if root == nil {
		return app.Div()
	}
	last := ""
	if a.activeRoots(ref.Product) == 1 {
		last = " It is the only root " + ref.Product + " trusts: the server will refuse all of its new boards and production packages."
	}
	return app.Div().ID("anchor-revoke-confirm").Class("confirm-danger").Attr("role", "alertdialog").
		Aria("labelledby", "anchor-revoke-title").Aria("describedby", "anchor-revoke-what").
		DataSet("product", ref.Product).DataSet("fingerprint", ref.Fingerprint).Body(
		app.P().ID("anchor-revoke-title").Body(app.Strong().Text("Revoke "+root.Subject+" as a trust anchor of "+ref.Product+"?")),
		app.P().ID("anchor-revoke-what").Text("The server will refuse boards and production packages of "+ref.Product+
			" that chain only to this root until another root is registered for it."+last+
			" Boards already in the registry stay. This cannot be undone: a revoked root is not registered again. The server audits it."),
		app.P().Body(app.Code().Class("fingerprint").Text("SHA-256 "+ref.Fingerprint)),
		app.Div().Class("form-actions").Body(
			app.Button().Type("button").ID("anchor-revoke-confirm-yes").DataSet("testid", "anchor-revoke-confirm").Class("btn-danger").
				DataSet("product", ref.Product).DataSet("fingerprint", ref.Fingerprint).Disabled(a.busy).
				Text("Revoke trust anchor").OnClick(a.revoke),
			app.Button().Type("button").ID("anchor-revoke-cancel").DataSet("testid", "anchor-revoke-cancel").Class("btn-ghost").
				Disabled(a.busy).Text("Cancel").OnClick(a.cancelRevoke),
		),
	)
}

func (a *anchorsPanel) Render() app.UI {
	fp, ok := a.rootFingerprint()
	products := a.products()
	if !ok || len(products) == 0 {
		return app.Div()
	}
	mayRegister := kit.CanRegistry(a.App, apiwire.PermKeys)
	return app.Section().ID("anchors").Class("panel").Aria("label", "Trust anchors").Body(
		app.H2().Text("Trust anchors on the server"),
		app.P().Class("muted").Text("The server accepts a product's boards and production orders only under a device root an engineer or administrator registered for it (audited)."),
		app.Table().ID("anchors-table").Class("table").Body(
			app.THead().Body(app.Tr().Body(app.Th().Text("Product"), app.Th().Text("Root"), app.Th().Text(""),
				app.Th().Body(app.Span().Class("visually-hidden").Text("Revoke")))),
			// One body per product: this CA's root, then the product's
			// other active roots.
			app.Range(products).Slice(func(i int) app.UI {
				p := products[i]
				status, state, others := "not registered: the server refuses its boards", "missing", 0
				for _, r := range a.roots[p] {
					switch {
					case r.Fingerprint == fp && r.Revoked != nil:
						status, state = "revoked as trust anchor by "+r.RevokedBy, "revoked"
					case r.Fingerprint == fp:
						status, state = "trusted, registered by "+r.AddedBy+" on "+r.Added.Local().Format("2006-01-02"), "trusted"
					case r.Revoked == nil:
						others++
					}
				}
				if state == "missing" && others > 0 {
					status += " (it trusts another root)"
				}
				var otherRows []client.DeviceRoot
				for _, r := range a.roots[p] {
					if r.Fingerprint != fp && r.Revoked == nil {
						otherRows = append(otherRows, r)
					}
				}
				return app.TBody().DataSet("product", p).Body(
					app.Tr().ID("anchor-"+p).DataSet("testid", "anchor-row").DataSet("product", p).DataSet("fingerprint", fp).DataSet("state", state).Body(
						app.Td().Text(p),
						app.Td().Body(app.Text("This CA's root: "+status)),
						kit.ActionsCell(app.If(mayRegister && state == "missing", func() app.UI {
							return app.Button().Class("btn-small").ID("anchor-"+p+"-register").DataSet("testid", "anchor-register").
								DataSet("product", p).Disabled(a.busy).Text("Register root").OnClick(a.register)
						})),
						kit.ActionsCell(app.If(mayRegister && state == "trusted", func() app.UI {
							return a.revokeButton(p, fp, "this CA's root")
						})),
					),
					app.Range(otherRows).Slice(func(j int) app.UI {
						r := otherRows[j]
						return app.Tr().ID("anchor-"+p+"-"+r.Fingerprint[:min(16, len(r.Fingerprint))]).DataSet("testid", "anchor-other").DataSet("product", p).DataSet("fingerprint", r.Fingerprint).
							DataSet("state", "trusted").Body(
							app.Td().Text(p),
							app.Td().Body(
								app.Text("Another root: "+r.Subject+", registered by "+r.AddedBy+" on "+r.Added.Local().Format("2006-01-02")),
								app.Br(), app.Code().Class("fingerprint").Title(r.Fingerprint).Text(shortFingerprint(r.Fingerprint)),
							),
							app.Td(),
							kit.ActionsCell(app.If(mayRegister, func() app.UI {
								return a.revokeButton(p, r.Fingerprint, "root "+r.Subject)
							})),
						)
					}),
				)
			}),
		),
		app.If(a.confirm != anchorRef{}, a.confirmBox),
		app.If(a.msg != "", func() app.UI { return app.P().Class("ok").ID("anchors-message").Aria("live", "polite").Text(a.msg) }),
		app.If(a.err != "", func() app.UI { return app.P().Class("error").ID("anchors-error").Aria("live", "assertive").Text(a.err) }),
	)
}
