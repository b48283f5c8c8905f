package kit

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/guide"
	"trustforge/wasm/state"
)

// RoleSection stands in for a section of a page the signed-in account's
// roles may not use: its title, and who may use it and how to get it done,
// so that nothing disappears without a word.
func RoleSection(st *state.App, id, title string, perm state.Permission, what string) app.UI {
	note := guide.SectionNote(ViewerOf(st), perm, what)
	if note == "" {
		return nil
	}
	return app.Section().ID(id).DataSet("testid", "role-section").Class("panel panel-quiet").Aria("label", title).Body(
		app.H2().Text(title),
		app.P().Class("muted").Text(note),
	)
}
