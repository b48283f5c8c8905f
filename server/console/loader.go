package console

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// go-app's loader (app.js) hands WebAssembly.instantiateStreaming a Response
// it builds from a JavaScript stream, to count the bytes for its progress
// label. Such a Response has no URL, so the browser can neither cache the
// compiled module (V8's code cache is keyed by the response's URL and time)
// nor skip the copy through JavaScript. The console's loader passes the
// fetch's own Response instead and counts the bytes on a clone of it.

// fetchCall is how go-app's loader fetches the console binary.
const fetchCall = `fetchWithProgress("/web/app.wasm", showProgress)`

// cachedFetch replaces it.
const cachedFetch = `tfFetchWasm("/web/app.wasm", showProgress)`

// cachedFetchFunc fetches the console binary for instantiateStreaming: the
// response itself, so the browser compiles it while it streams in and keeps
// the compiled code in its code cache; a clone of it feeds the progress label
// while it comes over the network. From the service worker's cache it comes
// at once: counting it there only costs the page's thread a copy of the
// whole module (about 100 ms on the project's machine), so it is not counted.
const cachedFetchFunc = `

// trustforge: compile from the fetch's own response (streaming compilation,
// code cache); count the bytes for the label on a clone of it, unless the
// service worker serves it from its cache.
async function tfFetchWasm(url, progress) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error("loading the console failed: " + response.status + " " + response.statusText);
  }
  const total = parseInt(goappWasmContentLength, 10);
  if (navigator.serviceWorker && navigator.serviceWorker.controller) {
    progress(100);
  } else if (total > 0 && response.body) {
    const reader = response.clone().body.getReader();
    (async () => {
      let loaded = 0, shown = -1;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        loaded += value.byteLength;
        const pct = Math.min(100, Math.round((loaded * 100) / total));
        if (pct !== shown) { shown = pct; progress(pct); }
      }
    })().catch(() => {});
  }
  return response;
}
`

// go-app's loader registers the service worker first thing. On a first
// visit the worker's install then downloads and stores every cached
// resource, the console binary too (a second copy, decompressed into
// Cache Storage), on the same cores that compile and start the console.
// The console's loader registers it once the console has rendered and the
// browser painted it (or the WebAssembly failed to load).

// registerCall and startCall are go-app's start-up calls: the service
// worker's registration first, the WebAssembly's last.
const (
	registerCall = "\ngoappInitServiceWorker();\n"
	startCall    = "\ngoappInitWebAssembly();\n"
)

// go-app tells the page of an update when a newly installed worker
// activates while a worker controls the page. The console's worker claims
// the open pages before its activation ends (worker.go), so on a first
// visit the page is controlled by then, by that very worker, and go-app
// took it for an update: the page offered to reload into the console it
// already runs. An update is a new worker for a page an older one
// controlled from its load.
const (
	notifyCheck       = "if (!navigator.serviceWorker.controller) {"
	notifyCheckAtLoad = "if (!tfControlledAtLoad) {"
)

// deferredStart replaces startCall: the service worker is registered after
// the console's first render.
const deferredStart = "\ntfWatchForUpdate();\ngoappInitWebAssembly().finally(tfAfterPaint(goappInitServiceWorker));\n"

// deferredRegisterFuncs registers the service worker after a paint. As the
// registration comes late, an update the worker finishes before it (go-app
// listens for updates on the registration only) is heard from the
// controller's change.
const deferredRegisterFuncs = `

// trustforge: whether a service worker controlled the page from its load
// (see goappSetupNotifyUpdate).
var tfControlledAtLoad = "serviceWorker" in navigator && !!navigator.serviceWorker.controller;

// trustforge: the service worker is registered after the console's first
// render, so that its install does not compete with the console's start;
// and at the latest a moment after, should the browser not paint the page
// (a tab it does not show may get no animation frame), so that a console
// opened there still works offline later.
function tfAfterPaint(fn) {
  return () => {
    let done = false;
    const once = () => { if (!done) { done = true; fn(); } };
    if (document.visibilityState === "hidden") {
      setTimeout(once, 0);
      return;
    }
    requestAnimationFrame(() => setTimeout(once, 0));
    setTimeout(once, 2000);
  };
}

// trustforge: a page a worker already controls learns of a new build when
// the new worker takes over (go-app's worker skips waiting and claims its
// clients), whenever that happens.
function tfWatchForUpdate() {
  if ("serviceWorker" in navigator && navigator.serviceWorker.controller) {
    navigator.serviceWorker.addEventListener("controllerchange", () => goappOnUpdate());
  }
}
`

// loaderJS returns the console's loader: go-app's app.js as h serves it,
// with the console binary fetched by tfFetchWasm and the service worker
// registered after the first render. It fails when go-app's loader no
// longer fetches the binary or starts as this package expects, so an
// upgrade of go-app cannot silently lose the code cache or the ordering.
func loaderJS(h http.Handler) ([]byte, error) {
	rec := &recorder{header: http.Header{}}
	req, err := http.NewRequest(http.MethodGet, "/app.js", nil)
	if err != nil {
		return nil, err
	}
	h.ServeHTTP(rec, req)
	if rec.status != 0 && rec.status != http.StatusOK {
		return nil, fmt.Errorf("console: go-app's loader answered %d", rec.status)
	}
	js := rec.body.String()
	if strings.Count(js, fetchCall) != 1 {
		return nil, fmt.Errorf("console: go-app's loader does not fetch the console as %s: update loader.go", fetchCall)
	}
	if strings.Count(js, registerCall) != 1 || strings.Count(js, startCall) != 1 ||
		strings.Index(js, registerCall) > strings.Index(js, startCall) {
		return nil, fmt.Errorf("console: go-app's loader does not start with %s and %s: update loader.go", strings.TrimSpace(registerCall), strings.TrimSpace(startCall))
	}
	if strings.Count(js, notifyCheck) != 1 {
		return nil, fmt.Errorf("console: go-app's loader does not check for a controller as %s: update loader.go", notifyCheck)
	}
	js = strings.Replace(js, notifyCheck, notifyCheckAtLoad, 1)
	js = strings.Replace(js, fetchCall, cachedFetch, 1)
	js = strings.Replace(js, registerCall, "\n", 1)
	js = strings.Replace(js, startCall, deferredStart, 1)
	return []byte(js + cachedFetchFunc + deferredRegisterFuncs + roomsFunc), nil
}

// A page's lists arrive after its first render: the releases from the
// server, the CA and profiles from IndexedDB. Each pushed what follows it
// down as it arrived, and a click aimed below it could land on something
// else. An element the console marks data-room="name" is a room: while its
// data-loaded is "false" it keeps at least the height it had when its
// content last loaded in this browser at about this width, so a reload or
// a return to the page holds the room its lists will fill. The heights are
// kept in localStorage ("trustforge-rooms"), by name and width in 40-pixel
// steps; they say how long a list was and nothing of what it held. They
// apply to the rooms the console module renders, not to the server's
// pre-rendered page: that is the signed-out page, whose rooms are not the
// ones remembered, and the module replaces its nodes rather than moving
// them. The loader applies the heights with the CSS object model, which
// the pages' Content-Security-Policy allows.
const roomsFunc = `

// trustforge: rooms keep the height their content last had (loader.go).
(function tfRooms() {
  if (!("ResizeObserver" in window) || !("MutationObserver" in window)) return;
  const storeKey = "trustforge-rooms";
  let heights = {};
  try { heights = JSON.parse(localStorage.getItem(storeKey) || "{}") || {}; } catch (e) { heights = {}; }
  const save = () => {
    try { localStorage.setItem(storeKey, JSON.stringify(heights)); } catch (e) {}
  };
  const keyOf = (el, width) => el.dataset.room + "@" + Math.round(width / 40);
  const sizes = new ResizeObserver((entries) => {
    for (const e of entries) {
      const el = e.target;
      if (el.dataset.loaded !== "true" || !el.isConnected) continue;
      const r = el.getBoundingClientRect();
      if (r.width <= 0) continue;
      const key = keyOf(el, r.width), h = Math.round(r.height);
      if (heights[key] !== h) { heights[key] = h; save(); }
    }
  });
  const seen = new WeakSet();
  const apply = (el) => {
    if (!el.dataset || !el.dataset.room) return;
    if (!seen.has(el)) { seen.add(el); sizes.observe(el); }
    if (el.dataset.loaded === "true") {
      el.style.removeProperty("min-height");
      return;
    }
    const h = heights[keyOf(el, el.getBoundingClientRect().width)];
    if (h > 0 && h < 20000) el.style.minHeight = h + "px";
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "attributes") { apply(r.target); continue; }
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        apply(n);
        n.querySelectorAll("[data-room]").forEach(apply);
      }
    }
  }).observe(document.documentElement, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-loaded", "data-room"] });
})();
`

// serveLoader serves the loader with go-app's caching rules: revalidated on
// every load, its ETag following the console version.
func (c *Console) serveLoader(w http.ResponseWriter, r *http.Request) {
	etag := `"` + c.version + `-loader"`
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "text/javascript")
	h.Set("Content-Length", strconv.Itoa(len(c.loader)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(c.loader)
	}
}

// recorder is the least http.ResponseWriter that keeps what it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
