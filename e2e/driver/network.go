package driver

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// networkConditions are the parameters of Network.emulateNetworkConditions,
// which, unlike its rule-based successor, also cuts a service worker's own
// fetches when sent to the worker's target.
type networkConditions struct {
	Offline            bool    `json:"offline"`
	Latency            float64 `json:"latency"`
	DownloadThroughput float64 `json:"downloadThroughput"`
	UploadThroughput   float64 `json:"uploadThroughput"`
}

var emulateNetworkConditions = cdp.Command[networkConditions, cdp.Empty]{Method: "Network.emulateNetworkConditions"}

// detachByTarget is Target.detachFromTarget by target ID: it detaches one
// session attached to the target.
var detachByTarget = cdp.Command[struct {
	TargetID string `json:"targetId"`
}, cdp.Empty]{Method: "Target.detachFromTarget"}

// SetOffline cuts (offline true) or restores the network of the tab of ctx
// and of every service worker of its browser context, as a technician's
// laptop without a network would be. Service workers started later are not
// affected. Restoring the network detaches the sessions that cut the
// workers' network: Chromium keeps a worker offline while any session
// attached to it says so.
func SetOffline(ctx context.Context, offline bool) error {
	c := chromedp.FromContext(ctx)
	if c == nil {
		return fmt.Errorf("driver: not a chromedp context")
	}
	cond := networkConditions{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}
	if _, err := chromedp.Call(ctx, emulateNetworkConditions, cond); err != nil {
		return fmt.Errorf("driver: network emulation: %w", err)
	}
	targets, err := chromedp.Targets(ctx)
	if err != nil {
		return fmt.Errorf("driver: listing targets: %w", err)
	}
	for _, ti := range targets {
		if ti.Type != "service_worker" || ti.BrowserContextID != c.BrowserContextID {
			continue
		}
		if !offline {
			// Detach every session an earlier call attached (at most a
			// few; stop at the first refusal: none is left).
			for range 16 {
				if _, err := chromedp.CallBrowser(ctx, detachByTarget, struct {
					TargetID string `json:"targetId"`
				}{string(ti.TargetID)}); err != nil {
					break
				}
			}
			continue
		}
		// The worker's session stays attached for the tab's lifetime, so
		// the emulation holds until SetOffline is called again.
		wctx, _ := chromedp.NewContext(ctx, chromedp.WithTargetID(ti.TargetID))
		if _, err := chromedp.Call(wctx, emulateNetworkConditions, cond); err != nil {
			return fmt.Errorf("driver: network emulation of service worker %s: %w", ti.URL, err)
		}
	}
	return nil
}
