package kit

import (
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// A field technician opens the console where there may be no network.
// The top bar says whether this browser holds the console for that (its
// service worker has the whole console cached), is still saving it, or
// cannot, and whether the network is gone. The browser's answer is read
// after the first render, never before it.

// offlineFacts is what the browser says about the console's offline copy
// and the network, and how long the console has been watching.
type offlineFacts struct {
	offlineStore
	Online bool
	Waited time.Duration
}

// offlineView is what the top bar shows: State is the element's
// data-state, Label its text, Title the longer explanation.
type offlineView struct {
	State, Label, Title string
}

// registerWithin is how long after the console starts its service worker
// has to be registered before the top bar says the browser did not save
// the console. The console registers it after its first render; the
// install that follows (the whole console, over a slow link perhaps) has
// no limit.
const registerWithin = 30 * time.Second

// Texts of the offline indicator.
var (
	offlineChecking = offlineView{State: "checking"}
	offlineReady    = offlineView{State: "ready", Label: "Ready offline",
		Title: "This browser holds the whole console: it opens at this address without a network."}
	offlineWorking = offlineView{State: "offline", Label: "Working offline",
		Title: "No network: the console runs from the copy this browser holds. Work that needs the server waits until the network is back."}
	offlineSaving = offlineView{State: "saving", Label: "Saving for offline use…",
		Title: "The browser is saving the console so that it opens without a network. Keep this tab open until the top bar says Ready offline."}
	offlineUnsaved = offlineView{State: "offline-unsaved", Label: "Offline: keep this tab open",
		Title: "No network, and this browser holds no copy of the console: closing or reloading this tab loses the console until the network is back."}
	offlineUnavailable = offlineView{State: "unavailable", Label: "Not saved for offline use",
		Title: "Browsers keep a console for use without a network only when it is served over HTTPS or from localhost. Ask whoever runs trustforge to serve it over HTTPS."}
	offlineNoWorkers = offlineView{State: "no-workers", Label: "Not saved for offline use",
		Title: "This browser keeps no copy of web applications for use without a network here (it has no service workers, as in some private windows). Open the console in a normal window to use it offline."}
	offlineFailed = offlineView{State: "failed", Label: "Not saved for offline use",
		Title: "The browser did not save the console for use without a network (its service worker did not install; the browser's developer console says why). Reload the page to try again."}
)

// describeOffline turns the browser's answer into what the top bar shows.
func describeOffline(f offlineFacts) offlineView {
	switch {
	case f.Active && f.Online:
		return offlineReady
	case f.Active:
		return offlineWorking
	case !f.Online:
		return offlineUnsaved
	case !f.Secure:
		return offlineUnavailable
	case !f.Supported:
		return offlineNoWorkers
	case f.Installing, !f.Registered && f.Waited < registerWithin:
		return offlineSaving
	default:
		return offlineFailed
	}
}

// offlineChip is the top bar's offline indicator.
type offlineChip struct {
	app.Compo

	view offlineView
}

// offlinePoll is how often the chip asks the browser again while the
// console is not yet saved, and offlinePollSaved once it is (an update of
// the console replaces the saved copy; a browser may also drop it). A page
// that can have no service worker (plain HTTP, a window without them) is
// asked again only when the network comes or goes.
const (
	offlinePoll      = 2 * time.Second
	offlinePollSaved = 30 * time.Second
)

func (c *offlineChip) OnMount(ctx app.Context) {
	if !app.IsClient {
		return
	}
	c.view = offlineChecking
	changed := make(chan struct{}, 1)
	stop, err := watchOnline(func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	if err == nil {
		go func() { <-ctx.Done(); stop() }()
	}
	start := time.Now()
	ctx.Async(func() {
		for {
			s, err := readOfflineStore(ctx)
			if err != nil && ctx.Err() != nil {
				return
			}
			v := describeOffline(offlineFacts{offlineStore: s, Online: online(), Waited: time.Since(start)})
			ctx.Dispatch(func(app.Context) { c.view = v })
			var again <-chan time.Time // nil: only the network's coming or going changes the answer
			switch v {
			case offlineReady, offlineWorking:
				again = time.After(offlinePollSaved)
			case offlineSaving, offlineFailed, offlineUnsaved:
				again = time.After(offlinePoll)
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-again:
			}
		}
	})
	ctx.PreventUpdate() // nothing known yet: the first answer renders
}

func (c *offlineChip) Render() app.UI {
	v := c.view
	if v.State == "" {
		v = offlineChecking
	}
	chip := app.Span().
		ID("offline-status").
		Class("offline-chip").
		DataSet("state", v.State).
		DataSet("testid", "offline-status").
		Aria("live", "polite").
		Text(v.Label)
	if v.Title != "" {
		chip = chip.Title(v.Title)
	}
	return chip
}

// offlineStore is the browser's service-worker state the chip reads (see
// trustforge/internal/browser.OfflineStore).
type offlineStore struct {
	Secure, Supported, Registered, Active, Installing bool
}
