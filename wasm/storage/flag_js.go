//go:build js && wasm

package storage

import (
	"github.com/hack-pad/safejs"

	"trustforge/internal/browser"
)

// Flag is a yes/no hint kept in the browser's localStorage under Key, so
// it survives reloads. It is for hints only (whether this browser has
// signed in), never for secrets: any script of the origin reads it.
type Flag struct {
	Key string
}

func localStorage() (safejs.Value, bool) {
	ls, err := safejs.Global().Get("localStorage")
	if err != nil || ls.IsUndefined() || ls.IsNull() {
		return safejs.Undefined(), false
	}
	return ls, true
}

// Get reports whether the flag is set.
func (f Flag) Get() bool {
	ls, ok := localStorage()
	if !ok {
		return false
	}
	v, err := browser.Call(ls, "getItem", f.Key)
	if err != nil || v.Type() != safejs.TypeString {
		return false
	}
	s, _ := v.String()
	return s == "1"
}

// Set sets or clears the flag.
func (f Flag) Set(on bool) {
	ls, ok := localStorage()
	if !ok {
		return
	}
	if on {
		browser.Call(ls, "setItem", f.Key, "1")
	} else {
		browser.Call(ls, "removeItem", f.Key)
	}
}
