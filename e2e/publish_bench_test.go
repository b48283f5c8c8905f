package e2e

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// BenchmarkPublish reports the time from "Publish" to "uploaded" in
// headless Chromium for 1, 16 and 64 MiB firmware files, and its split as
// the page measured it: reading the file, MCUboot signing, encrypting and
// signing the release, and uploading to the server on loopback (medians of
// a few publishes), and the longest the page went without running a timer
// (it must not freeze). DevTools' Network domain, which chromedp enables,
// copies every request body into the inspector on the page's thread (a
// 16 MiB upload then stalls the page for a second); the benchmark turns it
// off to measure the console as people run it. Every stall over 50 ms is
// logged with its time after the click, to place it in a phase; the
// longest stall counts those that end after the click on Publish (the
// ones before it, logged with negative times, happen as the form is filled
// in). A stall
// measured by the clock grows with the machine's load (the page waits for
// a core); the longest task the page's main thread ran, in the thread's
// own CPU time read from a Chromium trace of the publish, does much less
// (longest-task-cpu-ms).
func BenchmarkPublish(b *testing.B) {
	ctx, _ := newTab(b)
	product := env.accounts.newProduct(b)
	signIn(b, ctx, engineerName, engineerPass)
	createVault(b, ctx, engineerVaultPass)
	keyID := generateKey(b, ctx, "ed25519", "bench key")
	generateKey(b, ctx, "age-x25519", "bench identity")
	choose(b, ctx, "register-product", product)
	click(b, ctx, "key-register-"+keyID[:16])
	waitText(b, ctx, "keys-message", "Registered")
	goTo(b, ctx, "releases")
	// The engineer's own identity is offered, and ticked.
	waitFor(b, ctx, `input[data-testid="recipient"][data-own="true"]:checked`)

	if _, err := chromedp.Call(ctx, network.Disable, cdp.Empty{}); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	release := 0
	for _, size := range []int{1 << 20, 16 << 20, 64 << 20} {
		fw := make([]byte, size)
		rand.Read(fw)
		path := filepath.Join(dir, fmt.Sprintf("app-%d.bin", size))
		if err := os.WriteFile(path, fw, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			runs := 3
			if size >= 64<<20 {
				runs = 1 // the tab's time is bounded
			}
			var total, read, sign, enc, up, wall, gap, taskCPU []float64
			for b.Loop() {
				for range runs {
					release++
					// A timer ticking every 20 ms measures how long the page
					// was kept from running: its longest gap.
					// Only gaps that end after the click on Publish count:
					// those before it are the form being filled in.
					if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`(() => {
						clearInterval(window.__tfTick); window.__tfGap = 0; window.__tfGaps = []; let last = performance.now();
						window.__tfClick = last; window.__tfPublished = false;
						if (!window.__tfClickSeen) { window.__tfClickSeen = true;
							document.addEventListener("click", (e) => { window.__tfClick = performance.now();
								if (e.target.closest && e.target.closest("#publish-submit")) window.__tfPublished = true; }, true); }
						window.__tfTick = setInterval(() => { const now = performance.now();
							if (now - last > 50) window.__tfGaps.push([Math.round(last - window.__tfClick), Math.round(now - last)]);
							if (window.__tfPublished) window.__tfGap = Math.max(window.__tfGap, now - last);
							last = now; }, 20);
					})()`)); err != nil {
						b.Fatal(err)
					}
					var d time.Duration
					events, err := traceRun(ctx, fmt.Sprintf("publish-%dMiB-%d", size>>20, release), publishTraceCategories, func() error {
						d = publishFile(b, ctx, product, path, fmt.Sprintf("1.0.%d", release), strconv.Itoa(release), fmt.Sprintf("%#x", size+1<<20), "")
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
					wall = append(wall, float64(d.Milliseconds()))
					tasks := pageTasks(events)
					if len(tasks) == 0 {
						b.Fatal("the trace holds no task of the page's main thread")
					}
					slices.SortFunc(tasks, func(x, y traceEvent) int { return cmp.Compare(y.Tdur, x.Tdur) })
					taskCPU = append(taskCPU, float64(tasks[0].Tdur)/1000)
					var longest []string
					for _, t := range tasks[:min(3, len(tasks))] {
						longest = append(longest, fmt.Sprintf("%.0f/%.0f", float64(t.Tdur)/1000, float64(t.Dur)/1000))
					}
					b.Logf("%d MiB: the page's longest tasks [CPU/wall ms]: %v", size>>20, longest)
					ms := func(name string) float64 {
						v, _ := strconv.ParseFloat(attr(b, ctx, "#publish-timing", "data-"+name+"-ms"), 64)
						return v
					}
					total = append(total, ms("total"))
					read = append(read, ms("read"))
					sign = append(sign, ms("sign"))
					enc = append(enc, ms("encrypt"))
					up = append(up, ms("upload"))
					g, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__tfGap`))
					if err != nil {
						b.Fatal(err)
					}
					gap = append(gap, g)
					if gaps, err := chromedp.Run(ctx, chromedp.Evaluate[[][2]float64](`window.__tfGaps`)); err == nil && len(gaps) > 0 {
						b.Logf("%d MiB: read %.0f, sign %.0f, encrypt %.0f, upload %.0f ms; stalls over 50 ms [ms after the click, length ms]: %v",
							size>>20, read[len(read)-1], sign[len(sign)-1], enc[len(enc)-1], up[len(up)-1], gaps)
					}
				}
			}
			b.ReportMetric(median(total), "publish-ms")
			b.ReportMetric(median(read), "read-ms")
			b.ReportMetric(median(sign), "sign-ms")
			b.ReportMetric(median(enc), "encrypt-ms")
			b.ReportMetric(median(up), "upload-ms")
			b.ReportMetric(median(wall), "click-to-shown-ms")
			b.ReportMetric(median(gap), "longest-stall-ms")
			b.ReportMetric(median(taskCPU), "longest-task-cpu-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
	// Long digests left the page's thread: the hash worker was loaded.
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`performance.getEntriesByType("resource").filter(e => e.name.endsWith("/web/hash-worker.js") && e.responseStatus === 200).length`)); err != nil || n == 0 {
		b.Errorf("the console never loaded its hash worker (%d, %v)", n, err)
	}
	// The page stayed usable: the publish form's last result is shown.
	if _, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("publish-done"))); err != nil {
		b.Fatal(err)
	}
}

// publishTraceCategories are the trace categories a publish is traced
// with: tasks with their thread times, and thread names.
var publishTraceCategories = []string{"toplevel", "__metadata"}

func median[T cmp.Ordered](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
