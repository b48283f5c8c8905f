//go:build js && wasm

package storage

import (
	"github.com/hack-pad/safejs"

	"trustforge/internal/browser"
)

func localStorage() (safejs.Value, bool) {
	ls, err := safejs.Global().Get("localStorage")
	if err != nil || ls.IsUndefined() || ls.IsNull() {
		return safejs.Undefined(), false
	}
	return ls, true
}

// Load returns the remembered session; ok is false when nothing is kept.
func (m Memo) Load() (Remembered, bool) {
	ls, ok := localStorage()
	if !ok {
		return Remembered{}, false
	}
	v, err := browser.Call(ls, "getItem", m.Key)
	if err != nil || v.Type() != safejs.TypeString {
		return Remembered{}, false
	}
	s, _ := v.String()
	return decodeMemo(s), true
}

// Save keeps r, or with nil forgets the session.
func (m Memo) Save(r *Remembered) {
	ls, ok := localStorage()
	if !ok {
		return
	}
	if r != nil {
		browser.Call(ls, "setItem", m.Key, encodeMemo(*r))
	} else {
		// What describes an account's pages goes with its session; a
		// browser that kept none (a visitor never signed in) keeps it.
		if v, err := browser.Call(ls, "getItem", m.Key); err == nil && v.Type() == safejs.TypeString {
			for _, k := range m.Forget {
				browser.Call(ls, "removeItem", k)
			}
		}
		browser.Call(ls, "removeItem", m.Key)
	}
}
