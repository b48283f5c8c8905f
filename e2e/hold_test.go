package e2e

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// holdRequests makes the tab hold its requests whose URL matches pattern
// (the Fetch domain's wildcards) until the test continues them
// (fetch.ContinueRequest); the held ones arrive on the channel returned.
// The service worker would fetch them out of the tab's sight, so the
// tab's requests go to the network directly from then on.
func holdRequests(t *testing.T, ctx context.Context, pattern string) <-chan fetch.EventRequestPaused {
	t.Helper()
	held := make(chan fetch.EventRequestPaused, 4)
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			select {
			case held <- ev:
			default:
			}
		}
	}()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetBypassServiceWorker, network.SetBypassServiceWorkerParams{Bypass: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		t.Fatal(err)
	}
	return held
}
