package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// identityPage is the Identity section: device CA and provisioning.
type identityPage struct{ app.Compo }

func (p *identityPage) OnNav(ctx app.Context) { ctx.Page().SetTitle("Identity · trustforge") }

func (p *identityPage) Render() app.UI {
	return &sectionPage{
		Path:    "/identity",
		Title:   "Identity",
		Summary: "Device identities: a certificate authority you hold, and keys born on each board.",
		Coming: []string{
			"Create and back up a root CA and per-product intermediates.",
			"Provisioning profiles: certificate template, boot key, image encryption.",
			"Provision a connected board in one guided flow, then lock it.",
			"The device registry: certificates, encryption keys, revocation.",
		},
	}
}

// securityPage is the Security plan section: the STRIDE threat analysis.
type securityPage struct{ app.Compo }

func (p *securityPage) OnNav(ctx app.Context) { ctx.Page().SetTitle("Security plan · trustforge") }

func (p *securityPage) Render() app.UI {
	return &sectionPage{
		Path:    "/security",
		Title:   "Security plan",
		Summary: "How the product is protected, threat by threat.",
		Coming: []string{
			"A STRIDE analysis of the product's assets and trust boundaries.",
			"Each threat tied to the control that answers it, checked against the live configuration.",
			"An exportable report for audits and certification.",
		},
	}
}
