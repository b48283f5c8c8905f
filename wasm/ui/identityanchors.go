package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/pki"
	"trustforge/wasm/client"
	"trustforge/wasm/state"
)

// anchorsPanel shows, for each product this browser's CA has an
// intermediate for, whether the server trusts the CA's root for it: the
// product's trust anchor, without which the server refuses its boards and
// production orders. An engineer or administrator registers it here (the
// server audits it); provisioning and production orders register it too.
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
}

func (a *anchorsPanel) OnMount(ctx app.Context)  { a.load(ctx) }
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
				a.err = describeIdentity(err)
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
		a.err = describeIdentity(err)
		return
	}
	a.busy, a.err, a.msg = true, "", ""
	ctx.Async(func() {
		_, err := a.App.API.AddDeviceRoot(ctx, product, root, "registered from the Identity page")
		ctx.Dispatch(func(ctx app.Context) {
			a.busy = false
			if err != nil {
				a.err = describeIdentity(err)
				return
			}
			a.msg = "The server now trusts boards and production orders of " + product + " that chain to this CA's root."
			a.loaded = ""
			a.load(ctx)
		})
	})
}

func (a *anchorsPanel) Render() app.UI {
	fp, ok := a.rootFingerprint()
	products := a.products()
	if !ok || len(products) == 0 {
		return app.Div()
	}
	mayRegister := canRegistry(a.App, permKeys)
	return app.Section().ID("anchors").Class("panel").Aria("label", "Trust anchors").Body(
		app.H2().Text("Trust anchors on the server"),
		app.P().Class("muted").Text("The server accepts a product's boards and production orders only under a device root an engineer or administrator registered for it (audited)."),
		app.Table().ID("anchors-table").Class("table").Body(
			app.THead().Body(app.Tr().Body(app.Th().Text("Product"), app.Th().Text("This CA's root"), app.Th().Text(""))),
			app.TBody().Body(app.Range(products).Slice(func(i int) app.UI {
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
				return app.Tr().ID("anchor-"+p).DataSet("testid", "anchor-row").DataSet("product", p).DataSet("state", state).Body(
					app.Td().Text(p),
					app.Td().Text(status),
					app.Td().Class("actions").Body(app.If(mayRegister && state == "missing", func() app.UI {
						return app.Button().Class("btn-small").ID("anchor-"+p+"-register").DataSet("testid", "anchor-register").
							DataSet("product", p).Disabled(a.busy).Text("Register root").OnClick(a.register)
					})),
				)
			})),
		),
		app.If(a.msg != "", func() app.UI { return app.P().Class("ok").ID("anchors-message").Text(a.msg) }),
		app.If(a.err != "", func() app.UI { return app.P().Class("error").ID("anchors-error").Text(a.err) }),
	)
}
