package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
)

// BenchmarkConsoleSize reports the size of the console binary as served:
// raw, gzip and brotli (the copies the server sends).
func BenchmarkConsoleSize(b *testing.B) {
	sizes := map[string]string{"raw-MiB": "app.wasm", "gzip-MiB": "app.wasm.gz", "brotli-MiB": "app.wasm.br"}
	for b.Loop() {
	}
	for metric, name := range sizes {
		st, err := os.Stat(filepath.Join(env.webDir, name))
		if err != nil {
			b.Fatalf("%v (run make wasm)", err)
		}
		b.ReportMetric(float64(st.Size())/(1<<20), metric)
	}
}

// BenchmarkFirstRender reports the median time from navigation start to the
// console's first WASM render, over 7 navigations each: cold (a fresh browser
// context: no cache, no service worker) and warm (a reload served by the
// service worker).
func BenchmarkFirstRender(b *testing.B) {
	const runs = 7
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			var times []time.Duration
			for range runs {
				ctx, _ := newTab(b)
				if err := addFirstRenderProbe(ctx); err != nil {
					b.Fatal(err)
				}
				d, err := timeFirstRender(ctx, env.server.URL+"/")
				if err != nil {
					b.Fatal(err)
				}
				times = append(times, d)
			}
			reportMedian(b, times)
		}
	})
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			ctx, _ := newTab(b)
			if err := addFirstRenderProbe(ctx); err != nil {
				b.Fatal(err)
			}
			if err := driver.Open(ctx, env.server.URL+"/"); err != nil {
				b.Fatal(err)
			}
			if err := waitOfflineReady(ctx); err != nil {
				b.Fatal(err)
			}
			var times []time.Duration
			for range runs {
				d, err := timeFirstRender(ctx, env.server.URL+"/")
				if err != nil {
					b.Fatal(err)
				}
				times = append(times, d)
			}
			reportMedian(b, times)
		}
	})
}

func reportMedian(b *testing.B, times []time.Duration) {
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2])/float64(time.Millisecond), "median-ms")
	b.ReportMetric(float64(times[len(times)-1])/float64(time.Millisecond), "max-ms")
	b.ReportMetric(0, "ns/op")
}

// layoutShiftProbe sums the page's layout shifts (CLS's raw score) from
// its first paint on.
const layoutShiftProbe = `window.__tfShift = 0;
new PerformanceObserver((list) => {
	for (const e of list.getEntries()) if (!e.hadRecentInput) window.__tfShift += e.value;
}).observe({type: "layout-shift", buffered: true});`

// BenchmarkPrerenderPaint reports, over 7 cold navigations, the median
// first contentful paint of the pre-rendered page (before the WASM runs)
// and the largest layout shift when the WASM console takes it over.
func BenchmarkPrerenderPaint(b *testing.B) {
	const runs = 7
	for b.Loop() {
		var fcp []time.Duration
		var shift float64
		for range runs {
			ctx, _ := newTab(b)
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: layoutShiftProbe}); err != nil {
				b.Fatal(err)
			}
			if err := driver.Open(ctx, env.server.URL+"/"); err != nil {
				b.Fatal(err)
			}
			// A frame after the first render, for its shifts to be counted.
			ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`new Promise((r) => requestAnimationFrame(() => setTimeout(() => {
				const p = performance.getEntriesByName("first-contentful-paint")[0];
				r(p ? p.startTime : -1);
			}, 0)))`, chromedp.EvalAwaitPromise))
			if err != nil {
				b.Fatal(err)
			}
			if ms < 0 {
				b.Fatal("no first-contentful-paint entry")
			}
			s, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__tfShift`))
			if err != nil {
				b.Fatal(err)
			}
			fcp = append(fcp, time.Duration(ms*float64(time.Millisecond)))
			shift = max(shift, s)
		}
		slices.Sort(fcp)
		b.ReportMetric(float64(fcp[len(fcp)/2])/float64(time.Millisecond), "fcp-median-ms")
		b.ReportMetric(shift, "layout-shift-max")
		b.ReportMetric(0, "ns/op")
	}
}
