package kit

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// Pair keeps a label and the control it names together on a line of a
// form-inline row: when the row wraps in a narrow window, they move to the
// next line as one, so that a label is never left at the end of one line
// with its field at the start of the next. Either may come first (a
// checkbox goes before its label).
func Pair(first, second app.UI) app.UI {
	return app.Span().Class("pair").Body(first, second)
}
