// Command wasm is the trustforge console compiled to WebAssembly.
//
// It only wires: the pages and components live in trustforge/wasm/ui. Built
// natively (as the server's pre-renderer links the same routes) it does
// nothing.
package main

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/ui"
)

func main() {
	ui.Routes()
	app.RunWhenOnBrowser()
}
