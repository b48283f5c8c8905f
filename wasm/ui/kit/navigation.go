package kit

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// navigation is the console's side bar: one link per page, the active one
// marked for people (aria-current) and for tests.
type navigation struct {
	app.Compo

	// Active is the path of the page being shown.
	Active string
}

func (n *navigation) Render() app.UI {
	pages := Pages()
	return app.Nav().Class("nav").Aria("label", "Console sections").Body(
		app.Ul().Body(
			app.Range(pages).Slice(func(i int) app.UI {
				p := pages[i]
				a := app.A().
					ID("nav-"+p.ID).
					DataSet("testid", "nav-"+p.ID).
					Href(p.Path).
					Body(
						p.Icon("nav-icon"),
						app.Span().Text(p.Title),
					)
				if p.Path == n.Active {
					a = a.Class("active").Aria("current", "page")
				}
				return app.Li().Body(a)
			}),
		),
	)
}
