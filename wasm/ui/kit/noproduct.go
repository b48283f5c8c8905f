package kit

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// NoProduct is what a release, publish or production card shows when the
// server has no product yet, in place of selects with nothing to choose.
func NoProduct(id, what string) app.UI {
	return app.P().ID(id).DataSet("testid", "no-product").Class("banner banner-note").
		Text("No product exists yet, so there is nothing to " + what + ". An administrator creates products and their channels.")
}
