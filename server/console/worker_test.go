package console

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWorkerWaitsForItsCache: the service worker the console serves holds
// its install open until the console is cached, and its activation until
// it has claimed the pages (the browser side is e2e's
// TestWorkerActiveOnlyWhenCached).
func TestWorkerWaitsForItsCache(t *testing.T) {
	dir, _ := newWebDir(t, 4096)
	c, err := New(Config{WebDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/app-worker.js", nil))
	js := rec.Body.String()
	for _, want := range []string{
		`self.addEventListener("install", (event) => {
  event.waitUntil(`,
		`self.addEventListener("activate", (event) => {
  event.waitUntil(`,
		"await installWorker();",
		"await self.clients.claim();",
		"/web/app.wasm",
	} {
		if !strings.Contains(js, want) {
			t.Errorf("app-worker.js lacks %q:\n%s", want, js)
		}
	}
	if strings.Contains(js, `addEventListener("install", async`) || strings.Contains(js, `addEventListener("activate", async`) {
		t.Errorf("app-worker.js still has go-app's listeners that end before their work:\n%s", js)
	}
}

// TestWorkerTemplateFollowsGoApp: a go-app whose template no longer has the
// listeners the console replaces makes the console refuse to start, rather
// than serve a worker that goes active before it has cached the console.
func TestWorkerTemplateFollowsGoApp(t *testing.T) {
	if _, err := patchWorker(goappInstall + "\n" + goappActivate); err != nil {
		t.Fatalf("go-app's listeners not recognised: %v", err)
	}
	changed := strings.Replace(goappInstall, "await installWorker();", "await installWorker(event);", 1)
	if _, err := patchWorker(changed + "\n" + goappActivate); err == nil {
		t.Error("a changed install listener was accepted")
	}
	if _, err := patchWorker(goappInstall); err == nil {
		t.Error("a template without an activate listener was accepted")
	}
}
