package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// TestFirstPaintAsksForFewFonts: the pre-rendered page, as it stands
// before the console module runs, uses two font lists: the page's,
// system-ui (Chromium's system font on every platform), and the code one,
// the Mac's and Windows's code fonts before the generic. Chromium looks up
// each family of a list in turn until one exists, each lookup a round trip
// to the browser process inside the first layout (about a millisecond
// apiece on Linux, far more on a busy machine). go-app's loader badge, with
// its own list of ten families, and the code list's ui-monospace and
// SFMono-Regular, which Chromium does not resolve, made 18 lookups in the
// first layout; now there are 6.
func TestFirstPaintAsksForFewFonts(t *testing.T) {
	ctx, _ := newTab(t)
	// Hold the module, so the page stays as served with go-app's loader
	// badge in its corner.
	held := holdRequests(t, ctx, "*/web/app.wasm*")
	defer chromedp.Call(ctx, fetch.Disable, cdp.Empty{})
	if err := chromedp.Do(ctx, chromedp.Navigate(env.server.URL+"/")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the page never asked for the console module")
	}
	waitPresent(t, ctx, "#app-wasm-loader-label")
	type fonts struct {
		Lists  []string
		Loader string
		Body   string
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[fonts](`(() => {
		const lists = new Set();
		for (const el of document.body.querySelectorAll("*")) {
			if (el.getClientRects().length && el.textContent.trim()) lists.add(getComputedStyle(el).fontFamily);
		}
		return {
			Lists: [...lists].sort(),
			Loader: getComputedStyle(document.getElementById("app-wasm-loader-label")).fontFamily,
			Body: getComputedStyle(document.body).fontFamily,
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Loader != got.Body {
		t.Errorf("the loader badge uses %q, the page %q", got.Loader, got.Body)
	}
	want := []string{`Menlo, Consolas, monospace`, `system-ui, sans-serif`}
	if !slices.Equal(got.Lists, want) {
		t.Errorf("the first paint uses the font lists %q, want %q", got.Lists, want)
	}
}
