package console

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// newWebDir returns a web directory holding a fake app.wasm of n
// compressible bytes and a stylesheet.
func newWebDir(t *testing.T, n int) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	wasm := bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00 trustforge "), n/20+1)[:n]
	rand.Read(wasm[:64])
	if err := os.WriteFile(filepath.Join(dir, WasmFile), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "console.css"), []byte("body{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, wasm
}

func TestWasmContentNegotiation(t *testing.T) {
	dir, wasm := newWebDir(t, 200_000)
	c, err := New(Config{WebDir: dir, BuildVersion: "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	decoders := map[string]func(io.Reader) (io.Reader, error){
		"br":   func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
		"gzip": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
		"":     func(r io.Reader) (io.Reader, error) { return r, nil },
	}
	tests := []struct {
		accept string
		want   string
	}{
		{"gzip, deflate, br, zstd", "br"},
		{"br", "br"},
		{"gzip", "gzip"},
		{"br;q=0, gzip", "gzip"},
		{"gzip;q=0.5, br;q=0", "gzip"},
		{"*", "br"},
		{"*, br;q=0", "gzip"},
		{"identity", ""},
		{"", ""},
		{"deflate", ""},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/web/app.wasm", nil)
			req.Header.Set("Accept-Encoding", tt.accept)
			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Content-Encoding"); got != tt.want {
				t.Errorf("Content-Encoding = %q, want %q", got, tt.want)
			}
			if got := res.Header.Get("Content-Type"); got != "application/wasm" {
				t.Errorf("Content-Type = %q, want application/wasm", got)
			}
			if got := res.Header.Get("Vary"); !strings.Contains(got, "Accept-Encoding") {
				t.Errorf("Vary = %q, want Accept-Encoding", got)
			}
			body, _ := io.ReadAll(res.Body)
			if cl, _ := strconv.Atoi(res.Header.Get("Content-Length")); cl != len(body) {
				t.Errorf("Content-Length %d, body %d bytes", cl, len(body))
			}
			if tt.want != "" && len(body) >= len(wasm) {
				t.Errorf("%s body is %d bytes, not smaller than the %d raw bytes", tt.want, len(body), len(wasm))
			}
			r, err := decoders[tt.want](bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, wasm) {
				t.Errorf("decoded body differs from app.wasm (%d vs %d bytes)", len(got), len(wasm))
			}
		})
	}
}

func TestPrecompressedCopiesAreNotServedDirectly(t *testing.T) {
	dir, _ := newWebDir(t, 10_000)
	c, err := New(Config{WebDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/web/app.wasm.br", "/web/app.wasm.gz", "/web/", "/web/../console.go"} {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/web/console.css", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "body{}" {
		t.Errorf("GET /web/console.css: %d %q", rec.Code, rec.Body.String())
	}
}

func TestVersionFollowsTheBuild(t *testing.T) {
	dir, _ := newWebDir(t, 10_000)
	c1, err := New(Config{WebDir: dir, BuildVersion: "v1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := New(Config{WebDir: dir, BuildVersion: "v1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if c1.Version() != c2.Version() {
		t.Errorf("same build, two versions: %q and %q", c1.Version(), c2.Version())
	}
	if !strings.HasPrefix(c1.Version(), "v1.0.0-") {
		t.Errorf("version %q does not start with the build version", c1.Version())
	}
	// A rebuilt console is a new version even with the same build string.
	later := time.Now().Add(time.Second)
	p := filepath.Join(dir, WasmFile)
	if err := os.WriteFile(p, []byte("\x00asm rebuilt"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, later, later)
	c3, err := New(Config{WebDir: dir, BuildVersion: "v1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if c3.Version() == c1.Version() {
		t.Errorf("rebuilt console kept version %q", c3.Version())
	}
	// And its compressed copies were remade.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/web/app.wasm", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	c3.ServeHTTP(rec, req)
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if string(got) != "\x00asm rebuilt" {
		t.Errorf("served stale copy %q", got)
	}
}

func TestLoaderKnowsTheUncompressedSize(t *testing.T) {
	dir, wasm := newWebDir(t, 123_457)
	c, err := New(Config{WebDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/app.js", nil))
	want := `goappWasmContentLength = "` + strconv.Itoa(len(wasm)) + `"`
	if !strings.Contains(rec.Body.String(), want) {
		t.Errorf("app.js lacks %s: the progress bar would count against the compressed size", want)
	}
}

func TestEachEncodingHasItsOwnETag(t *testing.T) {
	dir, _ := newWebDir(t, 10_000)
	c, err := New(Config{WebDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]bool{}
	for _, enc := range []string{"br", "gzip", ""} {
		req := httptest.NewRequest("GET", "/web/app.wasm", nil)
		req.Header.Set("Accept-Encoding", enc)
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		etag := rec.Header().Get("ETag")
		if tags[etag] {
			t.Errorf("ETag %s reused across encodings", etag)
		}
		tags[etag] = true
		// A revalidation with that tag is answered 304.
		req = httptest.NewRequest("GET", "/web/app.wasm", nil)
		req.Header.Set("Accept-Encoding", enc)
		req.Header.Set("If-None-Match", etag)
		rec = httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified {
			t.Errorf("%q: revalidation status %d, want 304", enc, rec.Code)
		}
	}
}

func TestMissingWasmNamesTheFix(t *testing.T) {
	_, err := New(Config{WebDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make wasm") {
		t.Errorf("err = %v, want a hint to run make wasm", err)
	}
}

func TestReadOnlyWebDirCompressesInMemory(t *testing.T) {
	if os.Geteuid() == 0 {
		// root writes into read-only directories; exercise the fallback
		// directly instead.
		dir, wasm := newWebDir(t, 50_000)
		f, _ := os.Open(filepath.Join(dir, WasmFile))
		defer f.Close()
		data, err := compressToMemory(f, encodings[1])
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(zr)
		if !bytes.Equal(got, wasm) {
			t.Error("in-memory gzip copy does not decode to app.wasm")
		}
		return
	}
	dir, _ := newWebDir(t, 50_000)
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	c, err := New(Config{WebDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/web/app.wasm", nil)
	req.Header.Set("Accept-Encoding", "br")
	c.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "br" {
		t.Errorf("Content-Encoding = %q, want br", rec.Header().Get("Content-Encoding"))
	}
}

func FuzzAcceptsEncoding(f *testing.F) {
	for _, s := range []string{"gzip, deflate, br", "br;q=0", "*;q=0.1", "gzip;q=abc", ";;,,", "br;q=", "BR;Q=1"} {
		f.Add(s, "br")
	}
	f.Fuzz(func(t *testing.T, header, enc string) {
		acceptsEncoding(header, enc)
	})
}

// TestLoaderCompilesFromTheFetch: the loader hands instantiateStreaming the
// fetch's own response (which the browser can stream-compile and keep in its
// code cache), not a Response rebuilt from a JavaScript stream, and
// registers the service worker after the console's first render.
func TestLoaderCompilesFromTheFetch(t *testing.T) {
	dir, _ := newWebDir(t, 1000)
	c, err := New(Config{WebDir: dir, BuildVersion: "v9"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/app.js", "/goapp.js", "/" + c.Version() + "/app.js"} {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		res := rec.Result()
		js := rec.Body.String()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if !strings.Contains(js, `instantiateStreaming(
      tfFetchWasm("/web/app.wasm", showProgress)`) {
			t.Errorf("%s: the loader does not compile from tfFetchWasm's response", path)
		}
		if strings.Contains(js, fetchCall) {
			t.Errorf("%s: the loader still rebuilds the response (%s)", path, fetchCall)
		}
		if !strings.Contains(js, "async function tfFetchWasm(") || !strings.Contains(js, deferredStart) {
			t.Errorf("%s: the loader lacks tfFetchWasm or go-app's start-up", path)
		}
		// Bytes from the service worker's cache are not copied for the label.
		if !strings.Contains(js, "if (navigator.serviceWorker && navigator.serviceWorker.controller) {\n    progress(100);") {
			t.Errorf("%s: the loader counts the bytes the service worker serves", path)
		}
		// The service worker is registered after the first render only.
		if strings.Contains(js, registerCall) || !strings.Contains(js, "function tfWatchForUpdate()") {
			t.Errorf("%s: the loader registers the service worker before the console renders", path)
		}
		// Rooms keep their height (the browser side is TestPagesDoNotShift).
		if !strings.Contains(js, roomsFunc) {
			t.Errorf("%s: the loader does not keep the rooms' heights", path)
		}
		// Revalidated, never stale: the ETag follows the console version.
		etag := res.Header.Get("ETag")
		if res.Header.Get("Cache-Control") != "no-cache" || !strings.Contains(etag, c.Version()) {
			t.Errorf("%s: Cache-Control %q ETag %q", path, res.Header.Get("Cache-Control"), etag)
		}
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("If-None-Match", etag)
		rec = httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("%s: revalidation answered %d with %d bytes", path, rec.Code, rec.Body.Len())
		}
	}
}

// TestEnrolmentLinkOpensAPage checks that the link the server prints on
// first start (/enrol#token=…) answers with the console's enrolment page,
// not a 404.
func TestEnrolmentLinkOpensAPage(t *testing.T) {
	dir, _ := newWebDir(t, 10_000)
	c, err := New(Config{WebDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/enrol", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Create the first account") {
		t.Errorf("GET /enrol: status %d, body lacks the enrolment page:\n%.400s", rec.Code, rec.Body.String())
	}
}
