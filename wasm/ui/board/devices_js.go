//go:build js && wasm

package board

import (
	"github.com/hack-pad/safejs"

	"trustforge/internal/browser"
)

// listenOnline calls fn each time the browser gets its network back. fn
// must not block.
func listenOnline(fn func()) (stop func()) {
	stop, err := browser.Listen(safejs.Global(), "online", func(safejs.Value) { fn() })
	if err != nil {
		return func() {}
	}
	return stop
}

// browserOnline reports whether the browser may have a network.
func browserOnline() bool { return browser.Online() }
