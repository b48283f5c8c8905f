// Command goappfloor is the console's size floor: a go-app page with one
// heading and nothing else. `make bench` builds, packs and compresses it as
// it does the console, so that the part of app.wasm's download that is
// Go's runtime and go-app itself, which no change to the console can
// remove, is a figure anyone can re-run.
package main

import "github.com/maxence-charriere/go-app/v10/pkg/app"

type page struct{ app.Compo }

func (*page) Render() app.UI { return app.H1().Text("trustforge") }

func main() {
	app.Route("/", func() app.Composer { return &page{} })
	app.RunWhenOnBrowser()
}
