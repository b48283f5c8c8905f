//go:build js && wasm

package browser

import (
	"context"

	"github.com/hack-pad/safejs"
)

// OfflineStore is what the browser keeps of the console for use without a
// network: the console's service worker, which holds every page and the
// console binary in its cache. The worker becomes active only once that
// cache is complete (server/console/worker.go), so an active worker means
// the console opens offline.
type OfflineStore struct {
	// Secure reports whether the page is a secure context (HTTPS, or
	// localhost), which service workers need.
	Secure bool
	// Supported reports whether the page may have a service worker at
	// all: it is a secure context and the browser has the API (some
	// private windows do not).
	Supported bool
	// Active reports whether a worker for the console is active: its
	// cache is complete.
	Active bool
	// Installing reports whether a worker is being installed (filling its
	// cache) or waits to take over.
	Installing bool
	// Registered reports whether the console has a registration at all.
	Registered bool
}

// ReadOfflineStore asks the browser about the console's service worker.
func ReadOfflineStore(ctx context.Context) (OfflineStore, error) {
	var s OfflineStore
	g := safejs.Global()
	if sec, err := g.Get("isSecureContext"); err != nil {
		return s, wrapErr(err)
	} else if ok, _ := sec.Truthy(); !ok {
		return s, nil
	}
	s.Secure = true
	sw, err := Navigator("serviceWorker", nil)
	if err != nil || sw.IsUndefined() {
		return s, nil
	}
	s.Supported = true
	p, err := Call(sw, "getRegistration")
	if err != nil {
		return s, err
	}
	reg, err := Await(ctx, p)
	if err != nil {
		return s, err
	}
	if reg.IsUndefined() || reg.IsNull() {
		return s, nil
	}
	s.Registered = true
	present := func(name string) bool {
		v, err := reg.Get(name)
		return err == nil && !v.IsUndefined() && !v.IsNull()
	}
	s.Active = present("active")
	s.Installing = present("installing") || present("waiting")
	return s, nil
}

// WatchOnline calls fn whenever the browser goes online or offline (the
// window's "online" and "offline" events), until stop is called. fn runs
// in the event handler: it must not block.
func WatchOnline(fn func()) (stop func(), err error) {
	stopOn, err := Listen(safejs.Global(), "online", func(safejs.Value) { fn() })
	if err != nil {
		return nil, err
	}
	stopOff, err := Listen(safejs.Global(), "offline", func(safejs.Value) { fn() })
	if err != nil {
		stopOn()
		return nil, err
	}
	return func() { stopOn(); stopOff() }, nil
}
