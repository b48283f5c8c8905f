package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
)

// TestNarrowWindowFits opens every page, with the tour's releases and
// keys, in a 780-pixel window (a laptop's half screen) for each role that
// sees wide tables: the page is no wider than the window, and the
// navigation keeps its width. A wide table once made the content, and so
// the page, wider than the window; the navigation gave up width to it as
// it arrived, and everything beside it moved.
func TestNarrowWindowFits(t *testing.T) {
	populatedFleet(t)
	for _, role := range tourRoles(t) {
		if role.User == "" || role.Name == "station" {
			continue
		}
		t.Run(role.Name, func(t *testing.T) {
			ctx, _ := newWorkTab(t, 10*time.Minute)
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(780, 800)); err != nil {
				t.Fatal(err)
			}
			prepareTour(t, ctx, env.server.URL, role, "populated")
			for _, p := range tourPages() {
				if err := driver.Open(ctx, env.server.URL+p.Path); err != nil {
					t.Fatal(err)
				}
				settle(t, ctx)
				got, err := chromedp.Run(ctx, chromedp.Evaluate[[3]float64](`[
					document.documentElement.scrollWidth,
					document.documentElement.clientWidth,
					document.querySelector(".nav").getBoundingClientRect().width]`))
				if err != nil {
					t.Fatal(err)
				}
				label := pageLabel(role, "populated", p)
				if got[0] > got[1] {
					t.Errorf("%s: the page is %.0f px wide in a window of %.0f", label, got[0], got[1])
				}
				if got[2] < 207 || got[2] > 209 {
					t.Errorf("%s: the navigation is %.1f px wide, not its 13rem (208 px)", label, got[2])
				}
			}
		})
	}
}
