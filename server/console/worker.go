package console

import (
	"fmt"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// go-app's service worker fills its cache from an async install listener
// that never calls event.waitUntil, and claims its pages the same way: the
// browser sees the install end at once and activates the worker while the
// console (16 MB) is still being fetched into its cache. The page is then
// controlled, and navigator.serviceWorker.ready resolved, before the
// console can open offline; should the browser stop the worker meanwhile
// (it stops an idle one), or a fetch fail, the cache stays incomplete for
// good, with the failure only logged: a technician who takes the laptop
// to the field finds a console that does not open. The console's worker
// holds both events open until their work is done, so a worker becomes
// active only with the whole console in its cache; an install that fails
// leaves the previous worker in place, and the browser tries again on a
// later visit.

// goappInstall and goappActivate are go-app's listeners, as its template
// has them.
const (
	goappInstall = `self.addEventListener("install", async (event) => {
  try {
    console.log("installing app worker {{.Version}}");
    await installWorker();
    await self.skipWaiting();
  } catch (error) {
    console.error("error during installation:", error);
  }
});`
	goappActivate = `self.addEventListener("activate", async (event) => {
  try {
    await deletePreviousCaches(); // Await cache cleanup
    await self.clients.claim(); // Ensure the service worker takes control of the clients
    console.log("app worker {{.Version}} is activated");
  } catch (error) {
    console.error("error during activation:", error);
  }
});`
)

// consoleInstall and consoleActivate replace them.
const (
	consoleInstall = `// trustforge: the install lasts until the whole console is cached; if a
// resource cannot be fetched the install fails, and this worker is never
// used (the browser tries again later).
self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    await installWorker();
    await self.skipWaiting();
  })());
});`
	consoleActivate = `// trustforge: the activation lasts until older caches are gone and the
// open pages are claimed.
self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keys = await caches.keys();
    await Promise.all(keys.filter((key) => key !== cacheName).map((key) => caches.delete(key)));
    await self.clients.claim();
  })());
});`
)

// workerTemplate returns go-app's service worker template with the
// console's install and activate listeners. It fails when go-app's
// template no longer has the listeners this package replaces, so that an
// upgrade of go-app cannot silently bring the early activation back.
func workerTemplate() (string, error) { return patchWorker(app.DefaultAppWorkerJS) }

// patchWorker replaces go-app's install and activate listeners in js.
func patchWorker(js string) (string, error) {
	for _, l := range []struct{ old, new string }{{goappInstall, consoleInstall}, {goappActivate, consoleActivate}} {
		if strings.Count(js, l.old) != 1 {
			return "", fmt.Errorf("console: go-app's service worker template changed (%.40q…): update worker.go", l.old)
		}
		js = strings.Replace(js, l.old, l.new, 1)
	}
	return js, nil
}
