package kit

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// FilePicker is a file input shown as a button, with the chosen file's
// name beside it: the browser's own control looks and reads differently
// in every browser and next to the console's buttons. The input stays in
// the page (visually hidden), so Tab reaches it and a screen reader names
// it by its labels.
func FilePicker(id, button, accept, chosen string, onChange app.EventHandler) app.UI {
	if chosen == "" {
		chosen = "no file chosen"
	}
	return app.Span().Class("file-pick").Body(
		app.Input().ID(id).DataSet("testid", id).Type("file").Class("visually-hidden").Accept(accept).
			OnChange(onChange, app.EventScope(id)),
		app.Label().For(id).Class("button").Text(button),
		app.Span().ID(id+"-name").Class("muted file-name").Text(chosen),
	)
}

// ChosenName is the name of the first file of the file input that fired
// ctx's event, or "".
func ChosenName(ctx app.Context) string {
	fs := ctx.JSSrc().Get("files")
	if !fs.Truthy() || fs.Get("length").Int() == 0 {
		return ""
	}
	return fs.Index(0).Get("name").String()
}
