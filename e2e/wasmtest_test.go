package e2e

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// wasmTestPage runs a Go test binary built for js/wasm: wasm_exec.js's
// console output is collected line by line, and the exit code kept.
const wasmTestPage = `<!doctype html><meta charset="utf-8"><title>go test</title>
<script src="wasm_exec.js"></script><script src="run.js"></script>`

const wasmTestRunner = `(async () => {
  window.__tfOut = [];
  const log = console.log;
  console.log = (...a) => { window.__tfOut.push(a.join(" ")); log(...a); };
  const go = new Go();
  go.argv = ["test.wasm"].concat(JSON.parse(decodeURIComponent(location.hash.slice(1))));
  go.exit = (code) => { window.__tfExit = code; };
  const r = await WebAssembly.instantiateStreaming(fetch("test.wasm"), go.importObject);
  await go.run(r.instance);
})().catch((e) => { window.__tfOut.push("runner: " + e); window.__tfExit = -1; });`

// runWasmTest builds pkg's tests for js/wasm and runs the binary in a tab
// of the test browser with args (-test.run ...), served from a loopback
// origin (a secure context, with WebCrypto). It returns the binary's output
// and exit code.
func runWasmTest(tb testing.TB, pkg string, args ...string) (string, int) {
	tb.Helper()
	if env.skip != "" {
		tb.Skipf("chromium missing: %s", env.skip)
	}
	dir := tb.TempDir()
	build, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(build, "go", "test", "-c", "-o", filepath.Join(dir, "test.wasm"), pkg)
	cmd.Dir = env.root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building %s for js/wasm: %v\n%s", pkg, err, out)
	}
	// The tab's time starts once the binary is built.
	ctx, watch := newTab(tb)
	// Callbacks that fire after the binary exited (a timer of the testing
	// package) find the Go program gone: harmless.
	watch.Expect("Go program has already exited")
	execJS, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		tb.Fatal(err)
	}
	// The console's hash worker, where the console serves it.
	hashWorker, err := os.ReadFile(filepath.Join(env.root, "web", "hash-worker.js"))
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string][]byte{"/wasm_exec.js": execJS, "/run.js": []byte(wasmTestRunner), "/": []byte(wasmTestPage),
		"/web/hash-worker.js": hashWorker}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/test.wasm" {
			w.Header().Set("Content-Type", "application/wasm")
			http.ServeFile(w, r, filepath.Join(dir, "test.wasm"))
			return
		}
		b, ok := files[r.URL.Path]
		if r.URL.Path == "/favicon.ico" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript")
		} else {
			w.Header().Set("Content-Type", "text/html")
		}
		w.Write(b)
	}))
	defer srv.Close()

	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = strconv.Quote(a)
	}
	u := srv.URL + "/#" + url.PathEscape("["+strings.Join(quoted, ",")+"]")
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		tb.Fatal(err)
	}
	code, err := chromedp.Run(ctx, chromedp.Poll[int](`window.__tfExit !== undefined && window.__tfExit + 1000`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(110*time.Second)))
	code -= 1000
	lines, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__tfOut || []`))
	out := strings.Join(lines, "\n")
	if err != nil {
		tb.Fatalf("running %s in Chromium: %v\n%s", pkg, err, out)
	}
	return out, code
}

// TestWebCryptoMatchesGoInChromium runs crypto/engine/webcrypto's
// known-answer tests in Chromium: WebCrypto's SHA-256 and AES-CTR, the
// worker's ChaCha20-Poly1305 for age's payload chunks, and the MCUboot
// images and release bundles made with them, byte for byte Go's.
func TestWebCryptoMatchesGoInChromium(t *testing.T) {
	out, code := runWasmTest(t, "./crypto/engine/webcrypto", "-test.v", "-test.run", "MatchGo|MatchesGo")
	if code != 0 {
		t.Fatalf("tests failed in Chromium (exit %d):\n%s", code, out)
	}
	for _, name := range []string{"TestSHA256MatchesGo", "TestCTRMatchesGo", "TestHashXORMatchesGo", "TestHashXORMatchesGo/beside", "TestHashXORMatchesGo/in-hash-worker", "TestImagesMatchGo", "TestBundlesMatchGo", "TestSealChunksMatchGo", "TestSealChunksMatchGo/wasm", "TestSealChunksMatchGo/js", "TestKeptBundlesMatchGo"} {
		if !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass in Chromium:\n%s", name, out)
		}
	}
}

// TestHashWorkerInChromium runs internal/browser's hash worker tests in
// Chromium: long digests leave the page's thread, with SHA-256's bytes
// whether the worker takes them as the bytes arrive or at the end, a
// refused digest gives its input back, and sealing reuses the page's
// buffers.
func TestHashWorkerInChromium(t *testing.T) {
	out, code := runWasmTest(t, "./internal/browser", "-test.v", "-test.run", "TestDigestSinkInWorker|TestWorkerDigestsAsBytesArrive|TestStartSealChunksReusesBuffers")
	for _, name := range []string{"TestDigestSinkInWorker/as-bytes-arrive", "TestDigestSinkInWorker/one-shot",
		"TestWorkerDigestsAsBytesArrive/sink", "TestWorkerDigestsAsBytesArrive/out-of-order",
		"TestWorkerDigestsAsBytesArrive/written-again", "TestWorkerDigestsAsBytesArrive/one-shot",
		"TestStartSealChunksReusesBuffers"} {
		if code != 0 || !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Fatalf("%s did not pass in Chromium (exit %d):\n%s", name, code, out)
		}
	}
}

// TestFileReadInChromium runs internal/browser's file tests in Chromium:
// a chosen file is read from its stream (or in slices where a File has
// none), with every byte, and one that changed on disk is refused.
func TestFileReadInChromium(t *testing.T) {
	out, code := runWasmTest(t, "./internal/browser", "-test.v", "-test.run", "TestFileRead")
	for _, name := range []string{"TestFileReadAll", "TestFileReadBlocks", "TestFileReadPaths"} {
		if code != 0 || !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Fatalf("%s did not pass in Chromium (exit %d):\n%s", name, code, out)
		}
	}
}

// BenchmarkSignEncryptChromium reports signing and encrypting a 16 MiB
// MCUboot image in Chromium, with Go's code and with WebCrypto, and the
// same natively (this process), as crypto/engine/webcrypto's
// BenchmarkSignEncrypt measures it; and sealing the image into a release
// bundle (age) in Go and in the console's workers.
//
// Both sides do the same work (mcuimg.Sign of the same payload, after one
// untimed image): WebCrypto in Chromium and Go natively report the median
// of signEncryptRuns runs of three images each. Go in Chromium, the
// bundle and sealing figures come from one run in a second tab.
func BenchmarkSignEncryptChromium(b *testing.B) {
	runs := strconv.Itoa(signEncryptRuns)
	var engineMs float64
	var browserMs map[string]float64
	for b.Loop() {
		out, code := runWasmTest(b, "./crypto/engine/webcrypto", "-test.run", "^$", "-test.bench", "SignEncrypt/engine$",
			"-test.benchtime", "3x", "-test.count", runs)
		if code != 0 {
			b.Fatalf("benchmark failed in Chromium (exit %d):\n%s", code, out)
		}
		engineMs = benchMillis(b, out, "engine")["engine"]
		out, code = runWasmTest(b, "./crypto/engine/webcrypto", "-test.run", "^$", "-test.bench", "SignEncrypt|SealChunks", "-test.benchtime", "3x")
		if code != 0 {
			b.Fatalf("benchmark failed in Chromium (exit %d):\n%s", code, out)
		}
		browserMs = benchMillis(b, out, "go", "bundle-go", "bundle-engine")
	}
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "SignEncrypt/(go|bundle-go)$", "-benchtime", "3x", "-count", runs, "./crypto/engine/webcrypto")
	cmd.Dir = env.root
	native, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("native benchmark: %v\n%s", err, native)
	}
	nativeMs := benchMillis(b, string(native), "go", "bundle-go")
	b.ReportMetric(browserMs["go"], "chromium-go-ms")
	b.ReportMetric(engineMs, "chromium-webcrypto-ms")
	b.ReportMetric(nativeMs["go"], "native-ms")
	b.ReportMetric(engineMs/nativeMs["go"], "webcrypto/native")
	// A release bundle sealed from the 16 MiB image: age in Go, or in the
	// console's workers (same tab, same load).
	b.ReportMetric(browserMs["bundle-go"], "chromium-bundle-go-ms")
	b.ReportMetric(browserMs["bundle-engine"], "chromium-bundle-workers-ms")
	b.ReportMetric(nativeMs["bundle-go"], "native-bundle-ms")
	// age's chunks alone, 16 MiB: Go on the page, or the workers.
	b.ReportMetric(browserMs["seal-go"], "chromium-seal-go-ms")
	b.ReportMetric(browserMs["seal-workers"], "chromium-seal-workers-ms")
	b.ReportMetric(0, "ns/op")
}

// signEncryptRuns is how many runs BenchmarkSignEncryptChromium takes the
// median of, on each side.
const signEncryptRuns = 5

// benchMillis reads "BenchmarkSignEncrypt/NAME[-N] ... X ns/op" lines, and
// BenchmarkSealChunks' as "seal-NAME", and returns each name's median in
// milliseconds; it fails unless every name in want is there.
func benchMillis(tb testing.TB, out string, want ...string) map[string]float64 {
	tb.Helper()
	ms := benchMedians(tb, out, 1e6, func(bench string) (string, bool) {
		switch {
		case strings.HasPrefix(bench, "BenchmarkSignEncrypt/"):
			return strings.TrimPrefix(bench, "BenchmarkSignEncrypt/"), true
		case strings.HasPrefix(bench, "BenchmarkSealChunks/"):
			return "seal-" + strings.TrimPrefix(bench, "BenchmarkSealChunks/"), true
		}
		return "", false
	})
	for _, name := range want {
		if ms[name] == 0 {
			tb.Fatalf("no benchmark result for %s in:\n%s", name, out)
		}
	}
	return ms
}

// benchMedians reads a Go benchmark's "NAME[-N] ... X ns/op" lines and
// returns, for each line name names (under the name it gives), the median
// of its X divided by unit.
func benchMedians(tb testing.TB, out string, unit float64, name func(bench string) (string, bool)) map[string]float64 {
	tb.Helper()
	runs := map[string][]float64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		bench := f[0]
		if i := strings.LastIndex(bench, "-"); i > 0 {
			if _, err := strconv.Atoi(bench[i+1:]); err == nil {
				bench = bench[:i] // GOMAXPROCS
			}
		}
		n, ok := name(bench)
		if !ok {
			continue
		}
		for i := 1; i+1 < len(f); i++ {
			if f[i+1] == "ns/op" {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					tb.Fatalf("benchmark line %q: %v", sc.Text(), err)
				}
				runs[n] = append(runs[n], v/unit)
			}
		}
	}
	med := map[string]float64{}
	for n, v := range runs {
		slices.Sort(v)
		med[n] = v[len(v)/2]
		if len(v)%2 == 0 {
			med[n] = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
	}
	return med
}

// BenchmarkFreshMemoryChromium reports, in a page of the console's origin
// (medians of five), what bounds the WebCrypto rows above on a machine:
// filling a newly allocated 16 MiB array (fresh-fill-ms: memory the system
// maps in page by page on first write), filling the same array again
// (refill-ms), and a one-shot WebCrypto SHA-256 of 16 MiB (digest-ms),
// which copies its input into fresh memory before hashing it.
func BenchmarkFreshMemoryChromium(b *testing.B) {
	ctx, _ := newTab(b)
	if err := chromedp.Do(ctx, chromedp.Navigate(env.server.URL+"/web/console.css")); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[3]float64](`(async () => {
			const n = 16 << 20, fresh = [], refill = [], digest = [];
			const med = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
			for (let i = 0; i < 5; i++) {
				let t = performance.now();
				const a = new Uint8Array(n); a.fill(i + 1);
				fresh.push(performance.now() - t);
				t = performance.now(); a.fill(i + 2); refill.push(performance.now() - t);
				t = performance.now(); await crypto.subtle.digest("SHA-256", a); digest.push(performance.now() - t);
			}
			return [med(fresh), med(refill), med(digest)];
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(v[0], "fresh-fill-ms")
		b.ReportMetric(v[1], "refill-ms")
		b.ReportMetric(v[2], "digest-ms")
		b.ReportMetric(0, "ns/op")
	}
}
