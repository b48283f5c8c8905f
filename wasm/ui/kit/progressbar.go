package kit

import (
	"fmt"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// ProgressBar shows how far a long operation has come.
type ProgressBar struct {
	app.Compo

	// ID is the element id (and data-testid).
	ID string
	// Label says what is in progress, e.g. "Signing".
	Label string
	// Done and Total are in bytes; Total 0 shows an indeterminate bar.
	Done, Total int64
}

func (p *ProgressBar) Render() app.UI {
	text := p.Label + "…"
	bar := app.Progress().ID(p.ID+"-bar").Aria("label", p.Label)
	if p.Total > 0 {
		pct := float64(p.Done) * 100 / float64(p.Total)
		text = fmt.Sprintf("%s: %.0f%% of %s", p.Label, pct, SizeText(p.Total))
		bar = bar.Max(p.Total).Value(p.Done)
	}
	return app.Div().ID(p.ID).DataSet("testid", p.ID).Class("progress").Aria("live", "polite").Body(
		bar,
		app.Span().Class("progress-text").Text(text),
	)
}

// SizeText writes a byte count for people.
func SizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
