package console

import (
	"errors"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// go-app's service worker answers every request the console makes from its
// fetch handler: the cached copy when there is one, else the network. For a
// warm start that means waiting for the worker's thread to start (when the
// browser stopped it) and running JavaScript for the page, the loader and
// each of app.wasm's 19 MiB on their way out of Cache Storage. The console's
// worker declares the same rule as a static route (the Service Worker Static
// Routing API, InstallEvent.addRoutes): a GET is answered by the browser
// itself from Cache Storage, or from the network when no cache holds it,
// without the worker. The fetch handler stays for the requests the route
// leaves to it (other methods) and for browsers without static routes.

// workerFetchHandler is go-app's cache-first fetch handler, which the route
// restates.
const workerFetchHandler = `async function fetchWithCache(request) {
  const cachedResponse = await caches.match(request);
  if (cachedResponse) {
    return cachedResponse;
  }
  return await fetch(request);
}`

// workerRoutes adds the static route to go-app's worker.
const workerRoutes = `

// trustforge: GETs are answered from Cache Storage (any of the worker's
// caches, as fetchWithCache's caches.match), else from the network, by the
// browser without starting this worker or running its fetch handler.
self.addEventListener("install", (event) => {
  if (typeof event.addRoutes !== "function") {
    return;
  }
  event.waitUntil(
    event
      .addRoutes([{ condition: { requestMethod: "GET" }, source: "cache" }])
      .catch((err) => console.warn("static routes not added:", err))
  );
});
`

// workerTemplate returns go-app's service worker template with the static
// route added. It fails when go-app's worker no longer answers requests
// cache-first as the route restates, so an upgrade of go-app cannot leave
// the two disagreeing.
func workerTemplate() (string, error) {
	js := app.DefaultAppWorkerJS
	if strings.Count(js, workerFetchHandler) != 1 || !strings.Contains(js, "event.respondWith(fetchWithCache(event.request))") {
		return "", errors.New("console: go-app's service worker no longer answers cache-first as its static route says: update worker.go")
	}
	return js + workerRoutes, nil
}
