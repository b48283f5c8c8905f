package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

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
