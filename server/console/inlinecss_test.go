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
	// Everything else passes through untouched.
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Security-Policy", site.ContentSecurityPolicy)
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/web/console.css", nil))
	if rec.Body.String() != ".from-0{color:red}" || rec.Header().Get("Content-Security-Policy") != site.ContentSecurityPolicy {
		t.Errorf("GET /web/console.css: %q, CSP %q", rec.Body.String(), rec.Header().Get("Content-Security-Policy"))
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
