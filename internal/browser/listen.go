//go:build js && wasm

package browser

import (
	"context"
	"sync"

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

// Navigator returns navigator's property name (an API such as "serial" or
// "usb"), or missing when the browser has none.
func Navigator(name string, missing error) (safejs.Value, error) {
	nav, err := safejs.Global().Get("navigator")
	if err != nil {
		return safejs.Undefined(), missing
	}
	v, err := nav.Get(name)
	if err != nil || v.IsUndefined() || v.IsNull() {
		return safejs.Undefined(), missing
	}
	return v, nil
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

// WatchConnections reports the "connect" and "disconnect" events of the
// API that api returns (navigator.serial, navigator.usb) until ctx is done,
// when the channel closes and the listeners are removed: item makes the
// report of the event's kind ("connect", "disconnect") and its attr (its
// port or device). Events without one, and
// those the receiver is too slow to take beyond a small buffer, are
// dropped. An error from api or addEventListener is returned as it is.
func WatchConnections[E any](ctx context.Context, api func() (safejs.Value, error), attr string, item func(kind string, v safejs.Value) E) (<-chan E, error) {
	ch := make(chan E, 16)
	err := watchConnections(ctx, api, attr, func(kind string, v safejs.Value) {
		select {
		case ch <- item(kind, v):
		default:
		}
	}, func() { close(ch) })
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// watchConnections is WatchConnections without its channel's type: send
// is called for each event until ctx is done, and end once after.
func watchConnections(ctx context.Context, api func() (safejs.Value, error), attr string, send func(kind string, v safejs.Value), end func()) error {
	target, err := api()
	if err != nil {
		return err
	}
	var mu sync.Mutex
	stopped := false
	var stops []func()
	stopAll := func() {
		for _, stop := range stops {
			stop()
		}
	}
	for _, kind := range []string{"connect", "disconnect"} {
		stop, err := Listen(target, kind, func(ev safejs.Value) {
			v, err := ev.Get(attr)
			if err != nil || v.IsNull() || v.IsUndefined() {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if !stopped {
				send(kind, v)
			}
		})
		if err != nil {
			stopAll()
			return err
		}
		stops = append(stops, stop)
	}
	go func() {
		<-ctx.Done()
		stopAll()
		mu.Lock()
		stopped = true
		end()
		mu.Unlock()
	}()
	return nil
}

// Granted calls method of the API that api returns (a function returning
// a promise of an array, as navigator.serial.getPorts does) and returns
// what wrap makes of each element. An error from api is returned as it is.
func Granted[T any](ctx context.Context, api func() (safejs.Value, error), method string, wrap func(safejs.Value) T) ([]T, error) {
	v, err := api()
	if err != nil {
		return nil, err
	}
	p, err := Call(v, method)
	if err != nil {
		return nil, err
	}
	arr, err := Await(ctx, p)
	if err != nil {
		return nil, err
	}
	n, err := arr.Length()
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, n)
	for i := range n {
		x, err := arr.Index(i)
		if err != nil {
			return nil, err
		}
		out = append(out, wrap(x))
	}
	return out, nil
}
