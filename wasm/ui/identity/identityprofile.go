package identity

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/pki"
	"trustforge/crypto/vault"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// profilePanel defines a product's provisioning profile: which
// intermediate certifies its boards, what their certificates say, which
// signing key their bootloader will trust, whether images are encrypted to
// each board, and whether boards are locked.
type profilePanel struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// CAs is the hierarchy; Profiles the saved profiles.
	CAs      []pki.CAInfo
	Profiles []pki.Profile
	// SignKeys are the vault's signing keys, candidates for the boot key.
	SignKeys []vault.Info
	// OnChange is called after a profile was saved.
	OnChange func(app.Context)

	product  string
	form     pki.Profile
	busy     bool
	msg, err string

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

// products lists the products that have an intermediate.
func (p *profilePanel) products() []string {
	var out []string
	for _, c := range p.CAs {
		if c.Kind == pki.KindIntermediate {
			out = append(out, c.Product)
		}
	}
	return out
}

// selectProduct loads product's saved profile into the form, or defaults.
func (p *profilePanel) selectProduct(product string) {
	p.product = product
	p.form = pki.Profile{Product: product, EncryptImages: true}
	for _, pr := range p.Profiles {
		if pr.Product == product {
			p.form = pr
		}
	}
}

// OnMount and OnUpdate select the first product until one is chosen.
func (p *profilePanel) OnMount(ctx app.Context) {
	p.ui = ctx
	p.ensureProduct()
}

func (p *profilePanel) OnUpdate(ctx app.Context) { p.ensureProduct() }

func (p *profilePanel) ensureProduct() {
	if p.product == "" {
		if ps := p.products(); len(ps) > 0 {
			p.selectProduct(ps[0])
		}
	}
}

func (p *profilePanel) save(ctx app.Context, e app.Event) {
	ctx = p.ui
	e.PreventDefault()
	p.ensureProduct()
	if p.busy || p.product == "" {
		return
	}
	form := p.form
	form.Product = p.product
	p.busy, p.msg, p.err = true, "", ""
	ctx.Async(func() {
		a, err := p.App.Authority(ctx)
		var saved pki.Profile
		if err == nil {
			saved, err = a.SaveProfile(ctx, form)
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = false
			if err != nil {
				p.err = kit.DescribeIdentity(err)
				return
			}
			p.form = saved
			p.msg = "Saved the profile of " + saved.Product + "."
			if p.OnChange != nil {
				p.OnChange(ctx)
			}
		})
	})
}

// preview shows what a board's certificate will say.
func (p *profilePanel) preview() (pki.Subject, error) {
	for _, c := range p.CAs {
		if c.Kind == pki.KindIntermediate && c.Product == p.product {
			base, err := c.Subtree()
			if err != nil {
				return pki.Subject{}, err
			}
			return p.form.Template.Render(base, p.product, "0011223344556677")
		}
	}
	return pki.Subject{}, nil
}

func (p *profilePanel) text(id, label, placeholder string, value *string) app.UI {
	return app.Div().Class("field").Body(
		app.Label().For(id).Text(label),
		app.Input().ID(id).DataSet("testid", id).Type("text").Placeholder(placeholder).Value(*value).
			OnInput(func(ctx app.Context, e app.Event) { *value = ctx.JSSrc().Get("value").String() }, app.EventScope(id)),
	)
}

func (p *profilePanel) check(id, label string, value *bool) app.UI {
	return app.Div().Class("field field-check").Body(
		app.Input().ID(id).DataSet("testid", id).Type("checkbox").Checked(*value).
			OnChange(func(ctx app.Context, e app.Event) { *value = ctx.JSSrc().Get("checked").Bool() }, app.EventScope(id)),
		app.Label().For(id).Text(label),
	)
}

func (p *profilePanel) Render() app.UI {
	products := p.products()
	cur := p.product
	subj, perr := p.preview()
	return app.Section().ID("profile").Class("panel").Aria("label", "Provisioning profile").Body(
		app.H2().Text("Provisioning profile"),
		app.If(len(products) == 0, func() app.UI {
			return app.P().Class("muted").Text("Create a product's intermediate CA first.")
		}),
		app.If(len(products) > 0, func() app.UI {
			return app.Form().ID("profile-form").Class("form").OnSubmit(p.save).Body(
				app.Div().Class("field").Body(
					app.Label().For("profile-product").Text("Product"),
					app.Select().ID("profile-product").Class("from-server").DataSet("testid", "profile-product").
						OnChange(func(ctx app.Context, e app.Event) { p.selectProduct(ctx.JSSrc().Get("value").String()) }).
						Body(app.Range(products).Slice(func(i int) app.UI {
							return app.Option().Value(products[i]).Selected(products[i] == cur).Text(products[i])
						})),
				),
				app.Div().Class("field").Body(
					app.Label().For("profile-board").Text("Boards"),
					app.Select().ID("profile-board").DataSet("testid", "profile-board").
						OnChange(func(ctx app.Context, e app.Event) { p.form.Board = ctx.JSSrc().Get("value").String() }).
						Body(
							app.Option().Value(pki.BoardMCUboot).Selected(p.form.Board == pki.BoardMCUboot).Text("MCUboot boards (SMP): a certificate for each board"),
							app.Option().Value(pki.BoardESP32).Selected(p.form.Board == pki.BoardESP32).Text("ESP32 boards (ROM loader): eFuses, recorded by MAC"),
						),
				),
				app.If(p.form.Board == pki.BoardESP32, func() app.UI { return p.renderESP32() }),
				app.If(p.form.Board != pki.BoardESP32, func() app.UI { return p.renderMCUboot(subj, perr) }),
				app.Div().Class("form-actions").Body(
					app.Button().ID("profile-save").DataSet("testid", "profile-save").Class("btn-primary").Type("submit").Disabled(p.busy).Text("Save profile"),
				),
			)
		}),
		app.If(p.msg != "", func() app.UI {
			return app.P().ID("profile-message").DataSet("testid", "profile-message").Class("ok").Aria("live", "polite").Text(p.msg)
		}),
		app.If(p.err != "", func() app.UI {
			return app.P().ID("profile-error").DataSet("testid", "profile-error").Class("error").Aria("live", "assertive").Text(p.err)
		}),
	)
}

// renderMCUboot renders the fields of boards that are issued a
// certificate: its subject, the boot key fused, the image encryption key,
// the lock.
func (p *profilePanel) renderMCUboot(subj pki.Subject, perr error) app.UI {
	return app.Div().ID("profile-mcuboot").Body(
		p.text("profile-cn", "Certificate CN pattern ({id}, {product})", pki.DefaultCommonName, &p.form.Template.CommonName),
		p.text("profile-uri", "SAN URI pattern (urn:dev:…)", pki.DefaultURI, &p.form.Template.URI),
		p.text("profile-crl", "CRL distribution point (optional)", "https://releases.example.com/api/crls/…", &p.form.Template.CRLURL),
		app.Div().Class("field").Body(
			app.Label().For("profile-bootkey").Text("Boot key fused into each board"),
			app.Select().ID("profile-bootkey").DataSet("testid", "profile-bootkey").
				OnChange(func(ctx app.Context, e app.Event) { p.form.BootKeyHash = ctx.JSSrc().Get("value").String() }).
				Body(
					app.Option().Value("").Selected(p.form.BootKeyHash == "").Text("none (any image with a valid hash boots)"),
					app.Range(p.SignKeys).Slice(func(i int) app.UI {
						k := p.SignKeys[i]
						return app.Option().Value(k.ID).Selected(k.ID == p.form.BootKeyHash).
							Text(k.Name + " (" + string(k.Algorithm) + ", " + k.Fingerprint() + ")")
					}),
				),
		),
		p.check("profile-encrypt", "Each board generates an X25519 key; images can be encrypted to it", &p.form.EncryptImages),
		p.check("profile-server-auth", "Certificates also allow TLS server authentication", &p.form.Template.ServerAuth),
		p.check("profile-unlocked", "Leave boards unlocked (development boards only)", &p.form.LeaveUnlocked),
		app.If(perr == nil && len(subj.Name) > 0, func() app.UI {
			return app.P().ID("profile-preview").Class("muted").Text("A board with id 0011223344556677 gets " + subj.Name.String() + ", " + subj.URI)
		}),
		app.If(perr != nil, func() app.UI {
			return app.P().Class("error").Text(kit.DescribeIdentity(perr))
		}),
	)
}
