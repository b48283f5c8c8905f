package identity

import (
	"context"
	"fmt"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/pki"
	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
	"trustforge/wasm/client"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// registryPanel lists and searches the server's device registry and
// revokes a compromised board: in the registry, in this browser's CA, and
// by publishing the issuer's new revocation list.
type registryPanel struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	query       string
	shown       string // the query the listed devices answer
	devices     []client.Device
	loaded      bool
	unsubscribe func()
	reason      string
	busy        bool
	msg, err    string

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

// OnMount lists the registry straight away (the newest boards first): a
// blank panel until someone searches says nothing.
func (r *registryPanel) OnMount(ctx app.Context) {
	r.ui = ctx
	if app.IsClient {
		r.unsubscribe = kit.Follow(ctx, r.App, r.loadOnce)
		r.loadOnce(ctx)
	}
}

func (r *registryPanel) OnDismount() {
	if r.unsubscribe != nil {
		r.unsubscribe()
	}
}

// loadOnce lists the registry the first time the account may see it.
func (r *registryPanel) loadOnce(ctx app.Context) {
	if r.loaded || r.busy || !kit.CanRegistry(r.App, apiwire.PermDevices) {
		return
	}
	r.load(ctx)
}

func (r *registryPanel) search(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if r.busy {
		return
	}
	r.err, r.msg = "", ""
	r.load(ctx)
}

// load runs the search off the UI goroutine.
func (r *registryPanel) load(ctx app.Context) {
	ctx = r.ui
	q := r.query
	r.busy = true
	ctx.Async(func() {
		ds, err := r.App.API.Devices(ctx, client.DeviceFilter{Query: q, Revoked: true, Limit: 200})
		ctx.Dispatch(func(app.Context) {
			r.busy, r.loaded = false, true
			r.devices, r.shown = ds, q
			if err != nil {
				r.err = kit.DescribeIdentity(err)
			}
		})
	})
}

// revoke revokes d everywhere this console can: the registry, the local
// CA's ledger, and the published CRL.
func (r *registryPanel) revoke(ctx app.Context, d client.Device) {
	ctx = r.ui
	if r.busy {
		return
	}
	reason := r.reason
	if reason == "" {
		reason = pki.ReasonName(pki.ReasonKeyCompromise)
	}
	r.busy, r.err, r.msg = true, "", ""
	ctx.Async(func() {
		msg, err := r.revokeEverywhere(ctx, d, reason)
		ctx.Dispatch(func(ctx app.Context) {
			r.busy = false
			if err != nil {
				r.err = kit.DescribeIdentity(err)
			} else {
				r.msg = msg
			}
			r.load(ctx)
		})
	})
}

func (r *registryPanel) revokeEverywhere(ctx context.Context, d client.Device, reason string) (string, error) {
	code, err := pki.ParseReason(reason)
	if err != nil {
		return "", err
	}
	if _, err := r.App.API.RevokeDevice(ctx, d.ID, reason); err != nil {
		return "", err
	}
	a, err := r.App.Authority(ctx)
	if err != nil {
		return "Revoked " + d.ID + " in the registry; this browser holds no CA to publish a revocation list.", nil
	}
	if d.Serial == "" {
		return "Revoked " + d.ID + " in the registry; it has no certificate to put on a revocation list.", nil
	}
	recs, err := a.Find(ctx, d.ID)
	if err != nil || len(recs) == 0 {
		return "Revoked " + d.ID + " in the registry; its certificate was not issued by this browser's CA, so publish the CRL where it was.", nil
	}
	if _, err := r.App.UnlockedVault(); err != nil {
		return "", usererr.Errorf("", "revoked %s in the registry; unlock the vault to publish the revocation list: %w", d.ID, err)
	}
	issuers := map[string]bool{}
	for _, rec := range recs {
		if _, err := a.Revoke(ctx, rec.Issuer, rec.Serial, code); err != nil {
			return "", err
		}
		issuers[rec.Issuer] = true
	}
	for issuer := range issuers {
		der, err := a.CRL(ctx, issuer)
		if err != nil {
			return "", err
		}
		if err := r.App.API.PublishCRL(ctx, der); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("Revoked %s (%s) and published the new revocation list.", d.ID, reason), nil
}

func (r *registryPanel) Render() app.UI {
	if !kit.CanRegistry(r.App, apiwire.PermDevices) {
		return app.Section().ID("registry").Class("panel").Aria("label", "Device registry").Body(
			app.H2().Text("Device registry"),
			app.P().Class("muted").Text("Sign in to see the boards provisioned so far."),
		)
	}
	canRevoke := kit.CanRegistry(r.App, apiwire.PermRevoke)
	return kit.Room(app.Section().ID("registry"), "registry", r.loaded).Class("panel").Aria("label", "Device registry").Body(
		app.H2().Text("Device registry"),
		app.Form().ID("registry-form").Class("form-inline").OnSubmit(r.search).Body(
			kit.Pair(app.Label().For("registry-query").Text("Search"),
				app.Input().ID("registry-query").DataSet("testid", "registry-query").Type("search").Placeholder("device id, serial, model, MAC").
					Value(r.query).OnInput(func(ctx app.Context, e app.Event) { r.query = ctx.JSSrc().Get("value").String() })),
			app.Button().ID("registry-search").DataSet("testid", "registry-search").Type("submit").Disabled(r.busy).Text("Search"),
		),
		// The reason belongs to revoking, not to searching: it stands with
		// the list whose rows carry the Revoke buttons.
		app.If(canRevoke && len(r.devices) > 0, func() app.UI {
			reasons := []int{pki.ReasonKeyCompromise, pki.ReasonCessationOfOperation, pki.ReasonSuperseded, pki.ReasonAffiliationChanged}
			return app.Div().Class("form-inline").Body(
				kit.Pair(app.Label().For("registry-reason").Text("Reason given when revoking a board"),
					app.Select().ID("registry-reason").
						OnChange(func(ctx app.Context, e app.Event) { r.reason = ctx.JSSrc().Get("value").String() }).
						Body(app.Range(reasons).Slice(func(i int) app.UI {
							n := pki.ReasonName(reasons[i])
							return app.Option().Value(n).Selected(n == r.reason).Text(n)
						}))),
			)
		}),
		app.If(r.loaded && len(r.devices) == 0 && r.shown != "", func() app.UI {
			return app.P().ID("registry-empty").DataSet("testid", "registry-empty").Class("muted").Text("No device matches “" + r.shown + "”.")
		}),
		app.If(r.loaded && len(r.devices) == 0 && r.shown == "", func() app.UI {
			return app.P().ID("registry-empty").DataSet("testid", "registry-empty").Class("muted").
				Text("No board has been provisioned yet. Boards appear here once they are provisioned above, or by a production station.")
		}),
		app.If(!r.loaded && r.busy, func() app.UI {
			return app.P().ID("registry-loading").Class("muted").Text("Loading the registry…")
		}),
		app.If(len(r.devices) > 0, func() app.UI {
			return app.Table().ID("registry-table").Class("table").Body(
				app.THead().Body(app.Tr().Body(app.Th().Text("Device"), app.Th().Text("Certificate"), app.Th().Text("Encryption key"),
					app.Th().Text("Provisioned"), app.Th().Text("Status and actions"))),
				app.TBody().Body(app.Range(r.devices).Slice(func(i int) app.UI {
					d := r.devices[i]
					enc := "none"
					if d.EncryptionKeyFingerprint != "" {
						enc = d.EncryptionKeyFingerprint[:16]
					}
					return app.Tr().ID("device-"+d.ID).DataSet("testid", "device-row").DataSet("device", d.ID).Body(
						app.Td().Body(app.Code().Class("fingerprint").Text(d.ID), app.Br(), app.Span().Class("muted").Text(d.Product+" · "+d.Model+" "+d.Rev),
							app.If(d.MAC != "", func() app.UI {
								return app.Span().Body(app.Br(), app.Span().DataSet("testid", "device-mac").Text("MAC "+d.MAC))
							})),
						app.Td().Body(
							app.If(d.Serial != "", func() app.UI {
								return app.Span().Body(app.Span().Text(d.Subject), app.Br(), app.Code().Class("fingerprint").Text("serial "+d.Serial))
							}),
							app.If(d.Serial == "", func() app.UI { return app.Span().Class("muted").Text("none: known by its MAC and eFuses") }),
							app.If(d.EFuses != nil, func() app.UI { return renderEFuses(d) }),
						),
						app.Td().Body(app.Code().Class("fingerprint").Text(enc)),
						app.Td().Body(app.Text(d.Provisioned.Format("2006-01-02 15:04")), app.Br(), app.Span().Class("muted").Text("by "+d.Operator)),
						kit.ActionsCell(
							app.If(d.Revoked != nil, func() app.UI {
								return app.Span().Class("badge badge-bad").Text("revoked: " + d.Revoked.Reason)
							}),
							app.If(d.Revoked == nil && canRevoke, func() app.UI {
								return app.Button().ID("revoke-"+d.ID).DataSet("testid", "device-revoke").Class("btn-small btn-danger").
									Aria("label", "Revoke "+d.ID).
									Disabled(r.busy).Text("Revoke").OnClick(func(ctx app.Context, e app.Event) { r.revoke(ctx, d) }, app.EventScope(d.ID))
							}),
						),
					)
				})),
			)
		}),
		app.If(r.msg != "", func() app.UI {
			return app.P().ID("registry-message").DataSet("testid", "registry-message").Class("ok").Aria("live", "polite").Text(r.msg)
		}),
		app.If(r.err != "", func() app.UI {
			return app.P().ID("registry-error").DataSet("testid", "registry-error").Class("error").Aria("live", "assertive").Text(r.err)
		}),
	)
}
