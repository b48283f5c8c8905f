// Package state is the console's shared client state, one value for the
// whole tab: who is signed in (and what their role may do), the API client,
// and the key vault with its lock. Every page uses the same *App; the
// Devices, Keys and Releases pages, and any page to come, read it here.
//
// Components never change it directly from Render: they call its methods
// from event handlers or from goroutines started with ctx.Async, and
// Subscribe to hear of changes (sign-in, sign-out, vault locked or
// unlocked), re-rendering in ctx.Dispatch:
//
//	func (p *page) OnMount(ctx app.Context) {
//		p.unsubscribe = p.App.Subscribe(func() { ctx.Dispatch(func(app.Context) {}) })
//	}
//	func (p *page) OnDismount() { p.unsubscribe() }
//
// The vault unlocks for the tab's lifetime: reloading the page, Lock, or
// IdleLock of inactivity lock it again. Nothing here persists but the
// vault's sealed records (in IndexedDB) and the server's session cookie.
package state
