package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
)

// BenchmarkUnlockLongestTask unlocks the vault (scrypt at the vault's
// default cost, 256 MiB) while a long-task observer watches the page, and
// reports the longest task: how long the page could not answer input.
// Goal: under 100 ms (scrypt yields every 25 ms).
func BenchmarkUnlockLongestTask(b *testing.B) {
	ctx, _ := newTab(b)
	if err := driver.Open(ctx, env.server.URL+"/keys"); err != nil {
		b.Fatal(err)
	}
	createVault(b, ctx, "benchmark passphrase")
	for b.Loop() {
		click(b, ctx, "vault-lock")
		waitFor(b, ctx, `#vault[data-state="locked"]`)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			window.__tfLongest = 0;
			window.__tfTasks = 0;
			window.__tfObs && window.__tfObs.disconnect();
			window.__tfObs = new PerformanceObserver(list => {
				for (const e of list.getEntries()) {
					window.__tfTasks++;
					window.__tfLongest = Math.max(window.__tfLongest, e.duration);
				}
			});
			window.__tfObs.observe({type: "longtask"});
			return true;
		})()`)); err != nil {
			b.Fatal(err)
		}
		typeInto(b, ctx, "vault-pass", "benchmark passphrase")
		click(b, ctx, "vault-unlock")
		waitFor(b, ctx, `#vault[data-state="unlocked"]`)
		longest, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__tfLongest`))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(longest, "ms-longest-task")
	}
}
