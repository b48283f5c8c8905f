package console

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"trustforge/server/site"
)

// TestPagesCarryTheirStyles: a pre-rendered page links no stylesheet (each
// would block its first paint) but carries go-app's and the console's
// inline, in cascade order, allowed by the page's Content-Security-Policy
// through the block's hash and nothing wider.
func TestPagesCarryTheirStyles(t *testing.T) {
	dir, _ := newWebDir(t, 10_000)
	for i, name := range consoleStyles {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(".from-"+strconv.Itoa(i)+"{color:red}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := New(Config{WebDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/devices", "/releases"} {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Security-Policy", site.ContentSecurityPolicy)
		c.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body := rec.Body.String()
		if rec.Code != 200 || !strings.Contains(body, `id="console"`) {
			t.Fatalf("GET %s: %d, not the pre-rendered page", path, rec.Code)
		}
		if cl, _ := strconv.Atoi(rec.Header().Get("Content-Length")); cl != len(body) {
			t.Errorf("GET %s: Content-Length %d, body %d bytes", path, cl, len(body))
		}
		if regexp.MustCompile(`<link[^>]*stylesheet`).MatchString(body) {
			t.Errorf("GET %s: the page still links a stylesheet", path)
		}
		m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(body, -1)
		if len(m) != 1 {
			t.Fatalf("GET %s: %d style blocks, want 1", path, len(m))
		}
		css := m[0][1]
		last := strings.Index(css, ".goapp-app-info")
		if last < 0 {
			t.Errorf("GET %s: go-app's styles are missing", path)
		}
		for i := range consoleStyles {
			at := strings.Index(css, ".from-"+strconv.Itoa(i)+"{")
			if at <= last {
				t.Errorf("GET %s: %s missing or out of cascade order", path, consoleStyles[i])
			}
			last = at
		}
		sum := sha256.Sum256([]byte(css))
		hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "style-src 'self' "+hash+";") {
			t.Errorf("GET %s: CSP %q does not allow the style block (%s)", path, csp, hash)
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Count(csp, "sha256-") != 1 {
			t.Errorf("GET %s: CSP %q allows more than the style block", path, csp)
		}
	}
	// Other responses pass through untouched, under the same policy: a
	// browser revalidating a cached page takes the headers of the 304.
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Security-Policy", site.ContentSecurityPolicy)
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/web/console.css", nil))
	if rec.Body.String() != ".from-0{color:red}" {
		t.Errorf("GET /web/console.css: %q", rec.Body.String())
	}
	page := httptest.NewRecorder()
	page.Header().Set("Content-Security-Policy", site.ContentSecurityPolicy)
	c.ServeHTTP(page, httptest.NewRequest("GET", "/", nil))
	etag := page.Header().Get("ETag")
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("If-None-Match", etag)
	again := httptest.NewRecorder()
	again.Header().Set("Content-Security-Policy", site.ContentSecurityPolicy)
	c.ServeHTTP(again, req)
	if etag == "" || again.Code != 304 {
		t.Fatalf("revalidating / with ETag %q: %d, want 304", etag, again.Code)
	}
	for what, h := range map[string]string{"a stylesheet": rec.Header().Get("Content-Security-Policy"), "a page's 304": again.Header().Get("Content-Security-Policy")} {
		if h != page.Header().Get("Content-Security-Policy") {
			t.Errorf("%s has the policy %q, the page %q", what, h, page.Header().Get("Content-Security-Policy"))
		}
	}
}

// TestStylesAreTheVersion: the pages carry the stylesheets, so a changed
// stylesheet is a new console version (a new service worker, a new ETag
// for the pages) even with the same app.wasm.
func TestStylesAreTheVersion(t *testing.T) {
	dir, _ := newWebDir(t, 10_000)
	c1, err := New(Config{WebDir: dir, BuildVersion: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "guide.css"), []byte(".new{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	c2, err := New(Config{WebDir: dir, BuildVersion: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if c1.Version() == c2.Version() {
		t.Errorf("a new stylesheet kept the version %s", c1.Version())
	}
}

// TestInlineRefusesUnknownPages: a page that does not link go-app's
// stylesheet exactly once is left as it is.
func TestInlineRefusesUnknownPages(t *testing.T) {
	s := &inlineStyles{block: []byte("<style>x</style>")}
	for _, page := range []string{
		`<head></head>`,
		`<link href="/app.css" rel="stylesheet"><link rel="stylesheet" href="/app.css">`,
	} {
		if out, ok := s.inline([]byte(page)); ok || string(out) != page {
			t.Errorf("inline(%q) = %q, %v", page, out, ok)
		}
	}
	out, ok := s.inline([]byte(`<head><link type="text/css" rel="stylesheet" href="/app.css"></head>`))
	if !ok || string(out) != `<head><style>x</style></head>` {
		t.Errorf("inline = %q, %v", out, ok)
	}
}

// TestPagesPaintWithoutImages: nothing on a pre-rendered page waits for an
// image before its first paint: the navigation's and cards' icons are
// inline SVG, and go-app's loader shows a drawn spinner under the id its
// script looks for, in place of the 192-pixel PNG.
func TestPagesPaintWithoutImages(t *testing.T) {
	dir, _ := newWebDir(t, 10_000)
	c, err := New(Config{WebDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/devices", "/keys"} {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body := rec.Body.String()
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
		if img := regexp.MustCompile(`<img\b[^>]*>`).FindString(body); img != "" {
			t.Errorf("GET %s: the page still loads an image: %s", path, img)
		}
		if !strings.Contains(body, `<span class="goapp-logo goapp-spin" id="app-wasm-loader-icon" aria-hidden="true"></span>`) {
			t.Errorf("GET %s: go-app's loader icon is not the drawn spinner", path)
		}
		for _, class := range []string{"brand-icon", "nav-icon"} {
			if !regexp.MustCompile(`<svg class="` + class + `" aria-hidden="true" focusable="false"[^>]*viewBox=`).MatchString(body) {
				t.Errorf("GET %s: no inline %s", path, class)
			}
		}
	}
}
