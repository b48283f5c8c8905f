package kit

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// ActionsCell is a table row's cell of actions: its buttons in a row that
// wraps. The row is an element of its own inside the cell, so that the
// cell stays a table cell, as high as its row, its border in line with
// the row's other cells.
func ActionsCell(actions ...app.UI) app.HTMLTd {
	return app.Td().Class("actions").Body(app.Div().Class("actions-row").Body(actions...))
}
