package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
	"trustforge/wasm/ui"
)

func TestConsoleRenders(t *testing.T) {
	ctx, _ := newTab(t)
	if err := driver.Open(ctx, env.server.URL+"/"); err != nil {
		t.Fatal(err)
	}
	build, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("build-version")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(build, "build ") || len(build) <= len("build ") {
		t.Errorf("build version shows %q, want \"build <version>\"", build)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title != "trustforge console" {
		t.Errorf("title = %q, want %q", title, "trustforge console")
	}
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("nav a")].map(a => a.getAttribute("href"))`))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range ui.Pages() {
		want = append(want, p.Path)
	}
	if fmt.Sprint(links) != fmt.Sprint(want) {
		t.Errorf("navigation links = %v, want %v", links, want)
	}
	// Chromium on loopback is a secure context with Web Serial and WebUSB:
	// no notice.
	notice, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.getElementById("platform-notice")`))
	if err != nil {
		t.Fatal(err)
	}
	if notice {
		t.Error("the missing Web Serial / WebUSB notice shows in a browser that has both")
	}
}

func TestNavigationOpensEachPage(t *testing.T) {
	ctx, _ := newTab(t)
	if err := driver.Open(ctx, env.server.URL+"/"); err != nil {
		t.Fatal(err)
	}
	for _, p := range ui.Pages() {
		// A trusted click, as a person or a production line makes it.
		if err := chromedp.Do(ctx, driver.ClickID("nav-"+p.ID)); err != nil {
			t.Fatalf("clicking %s: %v", p.Title, err)
		}
		sel := fmt.Sprintf(`#nav-%s[aria-current="page"]`, p.ID)
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
			t.Fatalf("%s: %v", p.Title, err)
		}
		heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("page-title")))
		if err != nil {
			t.Fatal(err)
		}
		if heading != p.Title {
			t.Errorf("after clicking %q the heading is %q", p.Title, heading)
		}
		path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
		if err != nil {
			t.Fatal(err)
		}
		if path != p.Path {
			t.Errorf("after clicking %q the path is %q, want %q", p.Title, path, p.Path)
		}
	}
}

func TestPagesRenderWhenOpenedDirectly(t *testing.T) {
	ctx, _ := newTab(t)
	for _, p := range ui.Pages() {
		if err := driver.Open(ctx, env.server.URL+p.Path); err != nil {
			t.Fatal(err)
		}
		heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("page-title")))
		if err != nil {
			t.Fatal(err)
		}
		if heading != p.Title {
			t.Errorf("%s: heading %q, want %q", p.Path, heading, p.Title)
		}
	}
}

func TestNoticeWhenBrowserLacksWebSerial(t *testing.T) {
	ctx, _ := newTab(t)
	// A browser without the APIs, as Firefox or Safari are.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `delete Navigator.prototype.serial; delete Navigator.prototype.usb;`,
	}); err != nil {
		t.Fatal(err)
	}
	if err := driver.Open(ctx, env.server.URL+"/devices"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("platform-notice"))); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("platform-notice")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Web Serial and WebUSB") {
		t.Errorf("notice says %q, want it to name Web Serial and WebUSB", text)
	}
}

// waitOfflineReady waits until the console's service worker controls the
// page and has cached the page and the WASM.
func waitOfflineReady(ctx context.Context) error {
	const script = `(async () => {
		await navigator.serviceWorker.ready;
		for (let i = 0; i < 600; i++) {
			if (navigator.serviceWorker.controller &&
				await caches.match("/web/app.wasm") && await caches.match("/")) {
				return true;
			}
			await new Promise(r => setTimeout(r, 50));
		}
		return false;
	})()`
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](script, chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the service worker did not cache the console")
	}
	return nil
}

// openOfflineReady opens the console in a new tab and waits until the
// service worker holds it.
func openOfflineReady(t *testing.T) (context.Context, *driver.ErrorWatch) {
	t.Helper()
	ctx, watch := newTab(t)
	if err := driver.Open(ctx, env.server.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if err := waitOfflineReady(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx, watch
}

// TestWorkerActiveOnlyWhenCached: the service worker becomes active (and
// navigator.serviceWorker.ready resolves) only once every page and the
// console binary are in its cache, so that a console that says it works
// offline does; a worker that went active first, while it was still
// fetching, could be stopped by the browser and keep a partial cache.
func TestWorkerActiveOnlyWhenCached(t *testing.T) {
	for range 3 {
		ctx, _ := newTab(t)
		if err := driver.Open(ctx, env.server.URL+"/"); err != nil {
			t.Fatal(err)
		}
		missing, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(async () => {
			await navigator.serviceWorker.ready;
			const missing = [];
			for (const path of ["/web/app.wasm", "/", "/releases", "/web/hash-worker.js"]) {
				if (!await caches.match(path)) missing.push(path);
			}
			return missing;
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if len(missing) > 0 {
			t.Fatalf("the service worker is active without %v in its cache", missing)
		}
		// The worker claims the page it was installed from: that is no
		// update, and the page must not offer one (with the banner wrongly
		// up, the full suite hung in TestAccessibility).
		banner, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(async () => {
			for (let i = 0; i < 40 && !navigator.serviceWorker.controller; i++) await new Promise(r => setTimeout(r, 50));
			await new Promise(r => setTimeout(r, 500));
			return !!document.getElementById("update-banner");
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if banner {
			t.Fatal("a first visit offers an update once the service worker takes the page")
		}
		// The top bar tells the technician the console is saved.
		waitOfflineChip(t, ctx, "ready", "Ready offline")
	}
}

// TestReloadOfflineFromServiceWorker: the console, once its service
// worker holds it, reloads with the network cut, and its top bar says so
// all along: ready offline, then working offline, then ready again.
func TestReloadOfflineFromServiceWorker(t *testing.T) {
	ctx, watch := openOfflineReady(t)
	waitOfflineChip(t, ctx, "ready", "Ready offline")
	// The service worker's copy of app.wasm keeps the headers streaming
	// compilation needs (instantiateStreaming refuses another type), and
	// it was fetched brotli-compressed.
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`caches.match("/web/app.wasm").then((r) =>
		r.headers.get("Content-Type") + " " + r.headers.get("Content-Encoding"))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got != "application/wasm br" {
		t.Errorf("the service worker's app.wasm has Content-Type and Content-Encoding %q, want \"application/wasm br\"", got)
	}
	if err := driver.SetOffline(ctx, true); err != nil {
		t.Fatal(err)
	}
	// The network is really cut: a request past the service worker fails.
	watch.Expect("/healthz?probe")
	reached, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`fetch("/healthz?probe", {cache: "no-store"}).then(() => true, () => false)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if reached {
		t.Fatal("the server is still reachable with the network cut")
	}
	waitOfflineChip(t, ctx, "offline", "Working offline")
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if err := driver.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	online, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`navigator.onLine`))
	if err != nil {
		t.Fatal(err)
	}
	if online {
		t.Error("navigator.onLine is true after the network was cut")
	}
	waitOfflineChip(t, ctx, "offline", "Working offline")
	if err := driver.SetOffline(ctx, false); err != nil {
		t.Fatal(err)
	}
	waitOfflineChip(t, ctx, "ready", "Ready offline")
}

// waitOfflineChip waits for the top bar's offline indicator to be in state
// (its data-state) and to say text.
func waitOfflineChip(t *testing.T, ctx context.Context, state, text string) {
	t.Helper()
	waitFor(t, ctx, fmt.Sprintf(`#offline-status[data-state=%q]`, state))
	waitText(t, ctx, "offline-status", text)
}

// firstRenderProbe records, in window.__tfReadyAt, the milliseconds from
// navigation start to the console's first WASM render, and marks it in the
// page's user timing (readyMark) for traces.
const firstRenderProbe = `new MutationObserver((_, obs) => {
	if (!window.__tfReadyAt && document.querySelector('#console[data-ready="true"]')) {
		window.__tfReadyAt = performance.now();
		performance.mark("tf-first-render");
		obs.disconnect();
	}
}).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ["data-ready"]});`

// timeFirstRender navigates the tab of ctx to url and returns the time from
// navigation start to the console's first render, as the page measured it.
func timeFirstRender(ctx context.Context, url string) (time.Duration, error) {
	if err := driver.Open(ctx, url); err != nil {
		return 0, err
	}
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__tfReadyAt || 0`))
	if err != nil {
		return 0, err
	}
	if ms == 0 {
		return 0, fmt.Errorf("the render probe did not fire")
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

func addFirstRenderProbe(ctx context.Context) error {
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: firstRenderProbe})
	return err
}

// TestUpdateBannerWhenWorkerTakesOver: a page a service worker controls
// shows the new-build banner when another worker takes it over, even
// though the console registers its worker only after the first render
// (after which go-app's own update listener may come too late).
func TestUpdateBannerWhenWorkerTakesOver(t *testing.T) {
	ctx, _ := openOfflineReady(t)
	// Controlled from the start of this load.
	if err := driver.Open(ctx, env.server.URL+"/"); err != nil {
		t.Fatal(err)
	}
	// A new worker installs and claims the page, as after a new build: a
	// worker script of another URL is an update of the registration.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(async () => {
		const reg = await navigator.serviceWorker.getRegistration();
		await navigator.serviceWorker.register(reg.active.scriptURL + "?next");
		return true;
	})()`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("update-banner"))); err != nil {
		t.Fatalf("no new-build banner after a new worker took over: %v", err)
	}
}
