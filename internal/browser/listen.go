//go:build js && wasm

package browser

import (
	"github.com/hack-pad/safejs"
)

// Listen calls fn with every event of type kind that target (an
// EventTarget: window, navigator.serial, ...) fires, until stop is called.
// fn runs in the browser's event handler: it must not block or await; hand
// work to a goroutine.
func Listen(target safejs.Value, kind string, fn func(ev safejs.Value)) (stop func(), err error) {
	f, err := safejs.FuncOf(func(this safejs.Value, args []safejs.Value) any {
		ev := safejs.Undefined()
		if len(args) > 0 {
			ev = args[0]
		}
		fn(ev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := Call(target, "addEventListener", kind, f.Value()); err != nil {
		f.Release()
		return nil, err
	}
	return func() {
		Call(target, "removeEventListener", kind, f.Value())
		f.Release()
	}, nil
}

// Online reports whether the browser believes it has a network
// (navigator.onLine): false means surely offline, true only maybe online.
func Online() bool {
	nav, err := safejs.Global().Get("navigator")
	if err != nil {
		return true
	}
	v, err := nav.Get("onLine")
	if err != nil {
		return true
	}
	b, err := v.Bool()
	return err != nil || b
}
