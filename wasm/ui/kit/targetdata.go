package kit

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// TargetData reads a data- attribute of the element the event fired on:
// how a row's handler learns which row it belongs to (a handler's captured
// variables keep the first row's values, see STYLE.md).
func TargetData(ctx app.Context, key string) string {
	return ctx.JSSrc().Get("dataset").Get(key).String()
}

// BoolText writes b as a data- attribute's value: "true" or "false".
func BoolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
