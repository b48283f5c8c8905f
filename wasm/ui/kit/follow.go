package kit

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/state"
)

// Follow has fn run on ctx's component, on the UI goroutine, after every
// change of the tab's session or vault, until the returned stop is called
// (from the component's OnDismount).
func Follow(ctx app.Context, a *state.App, fn func(app.Context)) (stop func()) {
	return a.Subscribe(func() { ctx.Dispatch(fn) })
}
