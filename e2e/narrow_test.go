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

// TestReleasesAreCardsWhenNarrow opens Releases with the tour's releases
// in a 780-pixel window and a 1,280-pixel one. In the narrow one each
// release is a card: its state and actions lie inside the rows' panel,
// not behind a horizontal scroll, each behind its column's name; in the
// wide one the releases are a table with its header. Before, at 780 px the
// State and Actions columns were past the panel's edge.
func TestReleasesAreCardsWhenNarrow(t *testing.T) {
	populatedFleet(t)
	var engineer tourRole
	for _, role := range tourRoles(t) {
		if role.Name == "engineer" {
			engineer = role
		}
	}
	ctx, _ := newWorkTab(t, 10*time.Minute)
	prepareTour(t, ctx, env.server.URL, engineer, "populated")
	type layout struct {
		Rows, Outside     int
		HeaderShown       bool
		ScrollW, ClientW  float64
		StateLabel        string
		ActionsInsidePane bool
	}
	measure := func(width int64) layout {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 800)); err != nil {
			t.Fatal(err)
		}
		if err := driver.Open(ctx, env.server.URL+"/releases"); err != nil {
			t.Fatal(err)
		}
		settle(t, ctx)
		got, err := chromedp.Run(ctx, chromedp.Evaluate[layout](`(() => {
			const host = document.querySelector("#releases-rows");
			const box = host.getBoundingClientRect();
			const rows = [...document.querySelectorAll("#releases-table tbody tr")];
			let outside = 0;
			for (const r of rows) for (const td of r.cells) {
				const b = td.getBoundingClientRect();
				if (b.right > box.right + 0.5 || b.left < box.left - 0.5) outside++;
			}
			const state = rows.length ? rows[0].cells[5] : null;
			const actions = rows.length ? rows[0].querySelector("td.actions button") : null;
			const ab = actions ? actions.getBoundingClientRect() : null;
			return {
				Rows: rows.length, Outside: outside,
				HeaderShown: getComputedStyle(document.querySelector("#releases-table thead")).display !== "none",
				ScrollW: host.scrollWidth, ClientW: host.clientWidth,
				StateLabel: state ? getComputedStyle(state, "::before").content : "",
				ActionsInsidePane: !!ab && ab.right <= box.right + 0.5 && ab.width > 0,
			};
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	narrow := measure(780)
	if narrow.Rows == 0 {
		t.Fatal("the tour's releases are not listed")
	}
	if narrow.HeaderShown || narrow.Outside > 0 || narrow.ScrollW > narrow.ClientW || !narrow.ActionsInsidePane {
		t.Errorf("780 px: %+v; want cards within the panel, no header, nothing to scroll to", narrow)
	}
	if narrow.StateLabel != `"State"` {
		t.Errorf("780 px: the state cell is labelled %s, want \"State\"", narrow.StateLabel)
	}
	wide := measure(1280)
	if !wide.HeaderShown || wide.Outside > 0 || wide.StateLabel != "none" {
		t.Errorf("1,280 px: %+v; want a table with its header and unlabelled cells", wide)
	}
}
