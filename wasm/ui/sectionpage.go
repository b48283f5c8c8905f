package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// sectionPage renders a console section whose tools are still being built:
// it names the section and lists, plainly, what it will offer.
type sectionPage struct {
	app.Compo

	// Path is the section's URL path.
	Path string
	// Title is the section heading.
	Title string
	// Summary says what the section is for.
	Summary string
	// Coming lists the capabilities the section will offer.
	Coming []string
}

func (s *sectionPage) Render() app.UI {
	return &layout{
		Active: s.Path,
		Title:  s.Title,
		Content: []app.UI{
			app.P().Class("lead").Text(s.Summary),
			app.Section().Class("coming").DataSet("testid", "coming").Body(
				app.H2().Text("Coming to this section"),
				app.Ul().Body(app.Range(s.Coming).Slice(func(i int) app.UI {
					return app.Li().Text(s.Coming[i])
				})),
			),
		},
	}
}
