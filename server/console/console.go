// Package console serves the trustforge browser console: the pre-rendered
// pages, go-app's loader and service worker, the static assets of the web
// directory and the WASM binary, precompressed.
//
// Nothing it serves comes from another host, so the console works on an
// air-gapped bench; once loaded, the service worker keeps it working offline.
package console

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/ui"
)

// WasmFile is the name of the compiled console in the web directory.
const WasmFile = "app.wasm"

// Config configures a console handler.
type Config struct {
	// WebDir is the directory holding app.wasm, its precompressed copies and
	// the static assets served under /web/. Empty means "web".
	WebDir string

	// BuildVersion is the version of the server build. The console's version,
	// which clients compare to decide they must update, is BuildVersion plus
	// a digest of app.wasm, so any rebuild of the console reaches clients.
	// Empty means "dev".
	BuildVersion string

	// Log receives notes about start-up work such as precompression. Nil
	// discards them.
	Log io.Writer
}

// Console is an http.Handler serving the console.
type Console struct {
	app     *app.Handler
	wasm    *wasmAsset
	version string
	loader  []byte   // app.js, see loaderJS
	favicon *favicon // nil without an icon
	styles  *inlineStyles
}

// New loads the console from cfg.WebDir. It fails when app.wasm is missing,
// naming the command that builds it. Missing or stale precompressed copies
// are made (and kept next to app.wasm when the directory is writable).
func New(cfg Config) (*Console, error) {
	dir := cfg.WebDir
	if dir == "" {
		dir = "web"
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	build := cfg.BuildVersion
	if build == "" {
		build = "dev"
	}
	wasmPath := filepath.Join(dir, WasmFile)
	wasm, err := loadWasm(wasmPath, logw)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("console: %s not found: build the console first (make wasm)", wasmPath)
		}
		return nil, err
	}
	css, err := readStyles(dir, logw)
	if err != nil {
		return nil, err
	}
	// The pages carry the stylesheets (inlinecss.go): a change of them is
	// a new console as much as a change of the binary.
	version := build + "-" + consoleDigest(wasm.digest, css)
	wasm.version = version

	ui.Routes()
	worker, err := workerTemplate()
	if err != nil {
		return nil, err
	}
	h := &app.Handler{
		// The service worker becomes active only with the console cached
		// (worker.go).
		ServiceWorkerTemplate: worker,
		Name:                  "trustforge",
		ShortName:             "trustforge",
		Title:                 "trustforge console",
		Description:           "Provision, sign and update IoT boards from the browser.",
		Author:                "trustforge",
		Lang:                  "en",
		BackgroundColor:       "#f4f6f8",
		ThemeColor:            "#14324a",
		LoadingLabel:          "Loading the console… {progress}%",
		Icon: app.Icon{
			Default:  "/web/icon-192.png",
			Large:    "/web/icon-512.png",
			Maskable: "/web/icon-192.png",
			SVG:      "/web/icon.svg",
		},
		// No Styles: the pages carry the console's stylesheets inline
		// (inlinecss.go), in place of go-app's link to its own.
		// Start fetching the console binary with the page, not after the
		// deferred loader script has run.
		RawHeaders: []string{`<link rel="preload" href="/web/app.wasm" as="fetch" type="application/wasm" crossorigin="anonymous" fetchpriority="high">`},
		// The pages are cached too, so that a technician can open any of
		// them with no network.
		CacheableResources: append([]string{"/web/icon.svg", "/web/icon-192.png", "/web/icon-512.png",
			browserHashWorker}, pagePaths()...),
		Resources: staticDir{dir: dir, wasm: wasm},
		Version:   version,
		// The body is streamed compressed but counted decompressed by the
		// loader's progress bar, so it must know the decompressed size.
		WasmContentLength: strconv.FormatInt(wasm.size, 10),
	}
	loader, err := loaderJS(h)
	if err != nil {
		return nil, err
	}
	styles, err := newStyles(h, css)
	if err != nil {
		return nil, err
	}
	if err := styles.checkPages(h, "/"); err != nil {
		return nil, err
	}
	c := &Console{app: h, wasm: wasm, version: version, loader: loader, styles: styles}
	// A web directory without the PNG icon serves no /favicon.ico.
	c.favicon, _ = loadFavicon(dir)
	return c, nil
}

// browserHashWorker is the web directory's hash worker script, which the
// console starts from internal/browser.HashWorkerURL (the server cannot
// import that js-only package): cached, so publishing works offline too.
const browserHashWorker = "/web/hash-worker.js"

// pagePaths lists the console's pages that work offline.
func pagePaths() []string {
	var out []string
	for _, p := range ui.Pages() {
		out = append(out, p.Path)
	}
	return append(out, ui.UpdatePath)
}

// Version returns the console version clients see (GOAPP_VERSION).
func (c *Console) Version() string { return c.version }

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, "/"+c.version) {
	case "/app.js", "/goapp.js":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			c.serveLoader(w, r)
			return
		}
	case "/favicon.ico":
		if c.favicon != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			c.favicon.ServeHTTP(w, r)
			return
		}
	}
	pw := &pageWriter{w: w, styles: c.styles}
	c.app.ServeHTTP(pw, r)
	pw.finish(r)
}

// consoleDigest returns the 12 hex digits naming a console build: app.wasm's
// digest (hex SHA-256) and its stylesheets.
func consoleDigest(wasmDigest string, css []byte) string {
	h := sha256.New()
	io.WriteString(h, wasmDigest)
	h.Write(css)
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// fileDigest returns the hex SHA-256 of the file at path.
func fileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("console: reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
