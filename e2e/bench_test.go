package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

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
