package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
// service worker). Cold runs also report the median first contentful paint
// (the server's pre-rendered page). Because wall times on a shared machine
// follow its load (reported as load-avg), each also reports figures the load
// changes little: the median CPU time the browser and server spent from the
// navigation until the benchmark saw the first render (cpu-ms: it includes
// what runs in the moment after the render, such as the service worker's
// start), and the medians of three more, traced starts: the
// page's main-thread CPU time before the first render (main-cpu-ms), that
// of every traced browser thread (traced-cpu-ms), the WebAssembly functions
// compiled on the way (compiled-funcs) and the share of starts in which V8
// reused an already compiled module (module-cache).
func BenchmarkFirstRender(b *testing.B) {
	const runs, tracedRuns = 7, 3
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			load := loadAverage()
			var times, fcps, cpus []time.Duration
			for range runs {
				d, fcp, cpu, err := coldStart()
				if err != nil {
					b.Fatal(err)
				}
				times, fcps, cpus = append(times, d), append(fcps, fcp), append(cpus, cpu)
			}
			var traced []startFigures
			for i := range tracedRuns {
				ctx, _ := newTab(b)
				if err := addFirstRenderProbe(ctx); err != nil {
					b.Fatal(err)
				}
				f, err := traceStart(ctx, fmt.Sprint("cold-", i), func() error { return driver.Open(ctx, env.server.URL+"/") })
				if err != nil {
					b.Fatal(err)
				}
				traced = append(traced, f)
			}
			reportMedian(b, times)
			b.ReportMetric(ms(median(fcps)), "fcp-median-ms")
			reportStart(b, cpus, traced, (load+loadAverage())/2)
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
			load := loadAverage()
			var times, cpus []time.Duration
			for range runs {
				d, cpu, err := timeFirstRenderCPU(ctx)
				if err != nil {
					b.Fatal(err)
				}
				times, cpus = append(times, d), append(cpus, cpu)
			}
			var traced []startFigures
			for i := range tracedRuns {
				f, err := traceStart(ctx, fmt.Sprint("warm-", i), func() error { return driver.Open(ctx, env.server.URL+"/") })
				if err != nil {
					b.Fatal(err)
				}
				traced = append(traced, f)
			}
			reportMedian(b, times)
			reportStart(b, cpus, traced, (load+loadAverage())/2)
		}
	})
}

// coldStart opens the console in a fresh browser context and closes it
// again (an open tab's timers would count in the next start's CPU time). It
// returns the time to the first render, the first contentful paint and the
// CPU time spent until the benchmark saw the first render.
func coldStart() (wall, fcp, cpu time.Duration, err error) {
	ctx, cancel, err := env.browser.NewTab()
	if err != nil {
		return 0, 0, 0, err
	}
	defer cancel()
	ctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer tcancel()
	watch := driver.WatchErrors(ctx)
	if err := addFirstRenderProbe(ctx); err != nil {
		return 0, 0, 0, err
	}
	if wall, cpu, err = timeFirstRenderCPU(ctx); err != nil {
		return 0, 0, 0, err
	}
	if fcp, err = firstContentfulPaint(ctx); err != nil {
		return 0, 0, 0, err
	}
	return wall, fcp, cpu, watch.Err()
}

// timeFirstRenderCPU is timeFirstRender of the console's home page, with
// the CPU time the browser and the server spent meanwhile.
func timeFirstRenderCPU(ctx context.Context) (wall, cpu time.Duration, err error) {
	before, err := processCPU()
	if err != nil {
		return 0, 0, err
	}
	wall, err = timeFirstRender(ctx, env.server.URL+"/")
	if err != nil {
		return 0, 0, err
	}
	after, err := processCPU()
	return wall, after - before, err
}

// firstContentfulPaint returns the page's first contentful paint since
// navigation start.
func firstContentfulPaint(ctx context.Context) (time.Duration, error) {
	v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => {
		const p = performance.getEntriesByName("first-contentful-paint")[0];
		return p ? p.startTime : -1;
	})()`))
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, fmt.Errorf("no first-contentful-paint entry")
	}
	return time.Duration(v * float64(time.Millisecond)), nil
}

// reportStart reports the CPU times of the timed starts and the medians
// of the traced ones.
func reportStart(b *testing.B, cpus []time.Duration, traced []startFigures, load float64) {
	var mainCPU, allCPU []time.Duration
	var compiled []int
	hits := 0
	for _, f := range traced {
		mainCPU, allCPU, compiled = append(mainCPU, f.MainCPU), append(allCPU, f.AllCPU), append(compiled, f.Compiled)
		if f.CacheHit {
			hits++
		}
	}
	b.ReportMetric(ms(median(cpus)), "cpu-ms")
	b.ReportMetric(ms(median(mainCPU)), "main-cpu-ms")
	b.ReportMetric(ms(median(allCPU)), "traced-cpu-ms")
	b.ReportMetric(float64(median(compiled)), "compiled-funcs")
	b.ReportMetric(float64(hits)/float64(len(traced)), "module-cache")
	b.ReportMetric(load, "load-avg")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func reportMedian(b *testing.B, times []time.Duration) {
	b.ReportMetric(ms(median(times)), "median-ms")
	b.ReportMetric(ms(slices.Max(times)), "max-ms")
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
// and the largest layout shift when the WASM console takes it over. For
// scale it also reports the median first contentful paint of a page of one
// paragraph, served from localhost to the same headless browser with the
// console's Cross-Origin-Opener-Policy (floor-fcp-median-ms): what opening
// a tab, committing a navigation and painting costs on the machine at all,
// which no page of the console can go under. The policy is part of that
// cost: it puts the page in a browsing context group of its own, for which
// Chromium starts a new renderer process (about 100 ms more here than the
// same page without it), and the console keeps it to stay out of reach of
// the windows that open it.
func BenchmarkPrerenderPaint(b *testing.B) {
	const runs = 7
	floor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
		io.WriteString(w, "<!doctype html><html lang=en><title>floor</title><p>trustforge</p>")
	}))
	defer floor.Close()
	for b.Loop() {
		var fcp, floorFCP []time.Duration
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
			ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](afterFrameFCP, chromedp.EvalAwaitPromise))
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
			d, err := floorPaint(floor.URL)
			if err != nil {
				b.Fatal(err)
			}
			floorFCP = append(floorFCP, d)
		}
		b.ReportMetric(ms(median(fcp)), "fcp-median-ms")
		b.ReportMetric(ms(median(floorFCP)), "floor-fcp-median-ms")
		b.ReportMetric(shift, "layout-shift-max")
		b.ReportMetric(0, "ns/op")
	}
}

// afterFrameFCP waits a frame and returns the first contentful paint since
// navigation start, or -1.
const afterFrameFCP = `new Promise((r) => requestAnimationFrame(() => setTimeout(() => {
	const p = performance.getEntriesByName("first-contentful-paint")[0];
	r(p ? p.startTime : -1);
}, 0)))`

// floorPaint opens url in a fresh tab and returns its first contentful
// paint, waiting up to a few frames for it to be reported.
func floorPaint(url string) (time.Duration, error) {
	ctx, cancel, err := env.browser.NewTab()
	if err != nil {
		return 0, err
	}
	defer cancel()
	ctx, tcancel := context.WithTimeout(ctx, time.Minute)
	defer tcancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return 0, err
	}
	for range 50 {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](afterFrameFCP, chromedp.EvalAwaitPromise))
		if err != nil {
			return 0, err
		}
		if v >= 0 {
			return time.Duration(v * float64(time.Millisecond)), nil
		}
	}
	return 0, fmt.Errorf("no first-contentful-paint entry for %s", url)
}
