package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
)

// movingPage is a page whose button slides down for half a second under a
// sheet that covers the page until it goes at 400 ms, and whose every
// click is counted by what it hit.
const movingPage = `<!doctype html><html><body style="margin:0">
<div id="sheet" style="position:fixed;inset:0;z-index:2"></div>
<button id="target" style="display:block;width:200px;height:40px">target</button>
<button id="covered" style="position:fixed;top:300px;left:400px;width:200px;height:40px;z-index:1">covered</button>
<div style="position:fixed;top:290px;left:380px;width:300px;height:60px;z-index:3" id="lid"></div>
<p style="position:absolute;top:0;left:700px;width:150px">Some words and <a id="wrapped">a link that wraps</a> here.</p>
<script>
window.hits = [];
document.addEventListener("click", (e) => hits.push(e.target.id || e.target.nodeName), true);
let n = 0;
const slide = () => { if (n++ < 30) { target.style.marginTop = (n * 10) + "px"; requestAnimationFrame(slide); } };
requestAnimationFrame(slide);
setTimeout(() => sheet.remove(), 400);
</script></body></html>`

// TestClickWaitsForStillness: driver.Click clicks an element once it has
// stopped moving and nothing covers it, says what covers an element that
// stays covered rather than clicking whatever is on top, and clicks a
// link that wraps on its words.
func TestClickWaitsForStillness(t *testing.T) {
	ctx, _ := newTab(t)
	if err := chromedp.Do(ctx, chromedp.Navigate("data:text/html,"+url.PathEscape(movingPage))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, driver.ClickID("target")); err != nil {
		t.Fatal(err)
	}
	hits, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`hits`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(hits, ",") != "target" {
		t.Errorf("clicks hit %q, want only the target", hits)
	}
	margin, err := chromedp.Run(ctx, chromedp.Evaluate[string](`target.style.marginTop`))
	if err != nil || margin != "300px" {
		t.Errorf("the target was clicked at margin %q (%v), before it stopped at 300px", margin, err)
	}
	err = chromedp.Do(ctx, driver.ClickID("covered"))
	if err == nil || !strings.Contains(err.Error(), "covered by div#lid") {
		t.Errorf("clicking a covered button: %v, want it covered by div#lid", err)
	}
	if hits, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`hits`)); len(hits) != 1 {
		t.Errorf("clicks hit %q after the covered button", hits)
	}
	// A link over two lines is clicked on its first line, not between
	// its lines on the paragraph.
	if err := chromedp.Do(ctx, driver.ClickID("wrapped")); err != nil {
		t.Fatal(err)
	}
	if hits, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`hits`)); len(hits) != 2 || hits[1] != "wrapped" {
		t.Errorf("clicks hit %q, want the wrapped link last", hits)
	}
}
