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
// nor skip the copy through JavaScript. And it starts only once the page is
// parsed and both deferred scripts (wasm_exec.js, app.js) have run.
//
// The console starts earlier: the page's head loads a small async script
// (startJS, at StartPath) that fetches app.wasm and compiles the fetch's own
// response while the page is still being parsed, and the loader
// instantiates that module. A <link rel=preload> started the download as
// early, but the browser kept the preloaded body in the page's memory cache
// first (every 2 MiB through the page's thread) and copied it to the
// compiler later: about 75 ms more of the page's thread for a warm start in
// a trace at load 7.

// StartPath is where the console's early start script is served.
const StartPath = "/app-start.js"

// startTag loads startJS without holding the parser or the first paint.
const startTag = `<script async src="` + StartPath + `"></script>`

// startJS starts fetching and compiling the console (see above). A clone of
// the response feeds the loader's progress label while it comes over the
// network; from the service worker's cache it comes at once, and counting
// it would only cost the page's thread a copy of the whole module (about
// 100 ms on the project's machine), so it is not counted.
const startJS = `// trustforge: starts fetching and compiling the console while the page is
// parsed; go-app's loader (app.js) instantiates the module.
"use strict";
(() => {
  if (!("WebAssembly" in self) || !WebAssembly.compileStreaming ||
      /bot|googlebot|crawler|spider|robot|crawling/i.test(navigator.userAgent) ||
      new URLSearchParams(location.search).get("wasm") === "false") {
    return;
  }
  const controlled = !!(navigator.serviceWorker && navigator.serviceWorker.controller);
  const started = fetch("/web/app.wasm").then((response) => {
    if (!response.ok) {
      throw new Error("loading the console failed: " + response.status + " " + response.statusText);
    }
    const counted = controlled || !response.body ? null : response.clone();
    const module = WebAssembly.compileStreaming(response);
    module.catch(() => {}); // the loader reports it
    return { module, counted };
  });
  started.catch(() => {}); // the loader reports it
  self.tfConsoleStart = started;
})();
`

// fetchCall is how go-app's loader fetches the console binary, and
// instantiateDecl how it picks the function that compiles it.
const (
	fetchCall       = `fetchWithProgress("/web/app.wasm", showProgress)`
	instantiateDecl = "let instantiateStreaming = WebAssembly.instantiateStreaming;"
)

// cachedFetch and startedInstantiate replace them.
const (
	cachedFetch        = `tfFetchWasm("/web/app.wasm", showProgress)`
	startedInstantiate = "let instantiateStreaming = tfInstantiate;"
)

// cachedFetchFunc takes over the fetch startJS began, or starts one when
// the page did not run startJS, and instantiates the module compiled from
// it.
const cachedFetchFunc = `

// trustforge: the console's fetch and compilation, begun by app-start.js
// while the page was parsed (or here, when the page did not run it).
async function tfStarted(url) {
  if (!self.tfConsoleStart) {
    const tag = document.querySelector('script[src="` + StartPath + `"]');
    if (tag) {
      // Async: it may still be on its way.
      await new Promise((done) => {
        tag.addEventListener("load", done);
        tag.addEventListener("error", done);
      });
    }
  }
  if (self.tfConsoleStart) {
    return self.tfConsoleStart;
  }
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error("loading the console failed: " + response.status + " " + response.statusText);
  }
  return { module: WebAssembly.compileStreaming(response), counted: null };
}

// trustforge: count the bytes for the label on the started fetch's copy.
async function tfFetchWasm(url, progress) {
  const started = await tfStarted(url);
  const total = parseInt(goappWasmContentLength, 10);
  if (!started.counted) {
    progress(100);
  } else if (total > 0) {
    const reader = started.counted.body.getReader();
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
  return started;
}

// trustforge: instantiate the module compiled from the started fetch.
async function tfInstantiate(started, importObject) {
  const module = await (await started).module;
  return { module, instance: await WebAssembly.instantiate(module, importObject) };
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

// deferredStart replaces startCall: the service worker is registered after
// the console's first render.
const deferredStart = "\ntfWatchForUpdate();\ngoappInitWebAssembly().finally(tfAfterPaint(goappInitServiceWorker));\n"

// deferredRegisterFuncs registers the service worker after a paint. As the
// registration comes late, an update the worker finishes before it (go-app
// listens for updates on the registration only) is heard from the
// controller's change.
const deferredRegisterFuncs = `

// trustforge: the service worker is registered after the console's first
// render, so that its install does not compete with the console's start.
function tfAfterPaint(fn) {
  return () => {
    if (document.visibilityState === "hidden") {
      setTimeout(fn, 0);
      return;
    }
    requestAnimationFrame(() => setTimeout(fn, 0));
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
// instantiating the module startJS compiled and registering the service
// worker after the first render. It fails when go-app's loader no longer
// fetches and compiles the binary or starts as this package expects, so an
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
	if strings.Count(js, fetchCall) != 1 || strings.Count(js, instantiateDecl) != 1 {
		return nil, fmt.Errorf("console: go-app's loader does not fetch and compile the console as %s and %s: update loader.go", fetchCall, instantiateDecl)
	}
	if strings.Count(js, registerCall) != 1 || strings.Count(js, startCall) != 1 ||
		strings.Index(js, registerCall) > strings.Index(js, startCall) {
		return nil, fmt.Errorf("console: go-app's loader does not start with %s and %s: update loader.go", strings.TrimSpace(registerCall), strings.TrimSpace(startCall))
	}
	js = strings.Replace(js, fetchCall, cachedFetch, 1)
	js = strings.Replace(js, instantiateDecl, startedInstantiate, 1)
	js = strings.Replace(js, registerCall, "\n", 1)
	js = strings.Replace(js, startCall, deferredStart, 1)
	return []byte(js + cachedFetchFunc + deferredRegisterFuncs), nil
}

// serveScript serves one of the console's start-up scripts (the loader,
// startJS) with go-app's caching rules: revalidated on every load, its ETag
// following the console version.
func (c *Console) serveScript(w http.ResponseWriter, r *http.Request, name string, js []byte) {
	etag := `"` + c.version + `-` + name + `"`
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "text/javascript")
	h.Set("Content-Length", strconv.Itoa(len(js)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(js)
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
