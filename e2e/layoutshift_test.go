package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
)

// shiftRecorder keeps every layout shift of a page that no input caused,
// from its first paint on, as "score at ms: element from → to" lines, the
// scores' sum (Chromium's layout-shift entries, which Cumulative Layout
// Shift adds up), and the shifts of the console's frame: the top bar, the
// navigation, the page's heading and note, or the page's body as a whole.
const shiftRecorder = `window.__tfShifts = []; window.__tfShiftScore = 0; window.__tfFrameShifts = [];
new PerformanceObserver((list) => {
	const box = (r) => r ? Math.round(r.x) + "," + Math.round(r.y) + " " + Math.round(r.width) + "×" + Math.round(r.height) : "none";
	const frame = (n) => {
		const el = n && (n.nodeType === 1 ? n : n.parentElement);
		return !!el && (!!el.closest(".topbar, .nav, #page-title, #page-note") || el.matches("#content, #content > .page"));
	};
	for (const e of list.getEntries()) {
		if (e.hadRecentInput) continue;
		window.__tfShiftScore += e.value;
		const moved = (e.sources || []).map((s) => {
			const n = s.node;
			const name = !n ? "?" : n.nodeName.toLowerCase() + (n.id ? "#" + n.id : "") +
				(typeof n.className === "string" && n.className ? "." + n.className.trim().split(/\s+/).join(".") : "");
			const line = name + " " + box(s.previousRect) + " → " + box(s.currentRect);
			if (frame(n)) window.__tfFrameShifts.push(line);
			return line;
		});
		window.__tfShifts.push(e.value.toFixed(5) + " at " + Math.round(e.startTime) + " ms: " + moved.join(", "));
	}
}).observe({type: "layout-shift", buffered: true});`

// shiftLimit is the most a page's layout shifts may add up to: what
// Chromium's guidance calls a poor Cumulative Layout Shift (0.25). Lists
// that arrive after the first render still push what follows them down
// (0.11 at most in three runs here, on Identity); the top bar growing when the session
// showed scored 0.26, the home page's checklist arriving above the cards
// 0.18–0.32.
const shiftLimit = 0.25

// TestPagesDoNotShift opens every page of the console by its address, as a
// bookmark or a reload does, in a desktop window, for every role (the
// tests' server, with the tour's product and releases and the role's vault
// and keys) and signed out, and checks, until the page has settled with
// its lists loaded, that the console's frame never moves: the console
// taking over the server's pre-rendered page, the session (remembered
// from the sign-in), the page's note and the offline chip fill room the
// page already holds. The whole page's shifts stay under shiftLimit;
// every shift is logged.
func TestPagesDoNotShift(t *testing.T) {
	populatedFleet(t)
	for _, role := range tourRoles(t) {
		state := "populated"
		if role.User == "" {
			state = "empty"
		}
		t.Run(role.Name, func(t *testing.T) {
			ctx, _ := newWorkTab(t, 10*time.Minute)
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
				t.Fatal(err)
			}
			prepareTour(t, ctx, env.server.URL, role, state)
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: shiftRecorder}); err != nil {
				t.Fatal(err)
			}
			for _, p := range tourPages() {
				if err := driver.Open(ctx, env.server.URL+p.Path); err != nil {
					t.Fatal(err)
				}
				settle(t, ctx)
				shifts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__tfShifts`))
				if err != nil {
					t.Fatal(err)
				}
				frame, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__tfFrameShifts`))
				if err != nil {
					t.Fatal(err)
				}
				score, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__tfShiftScore`))
				if err != nil {
					t.Fatal(err)
				}
				label := pageLabel(role, state, p)
				if len(shifts) > 0 {
					t.Logf("%s: shifts adding up to %.5f:\n%s", label, score, strings.Join(shifts, "\n"))
				}
				if len(frame) > 0 {
					t.Errorf("%s: the console's frame moved after its first paint:\n%s", label, strings.Join(frame, "\n"))
				}
				if score >= shiftLimit {
					t.Errorf("%s: the page moved after its first paint by %.5f (limit %g)", label, score, shiftLimit)
				}
			}
		})
	}
}
