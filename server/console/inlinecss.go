package console

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// The pre-rendered pages carry their stylesheets inline. Linked, each one
// blocks the first paint until it has come over the network (go-app's
// app.css and the console's four: five requests before anything shows);
// inline, the page paints as soon as its own HTML is in. The files are
// small (about 20 KB together) and the pages are cached by the service
// worker with them.

// consoleStyles are the console's stylesheets in the web directory, in
// cascade order; go-app's own app.css comes before them.
var consoleStyles = []string{"console.css", "devices.css", "production.css", "guide.css"}

// appCSSLink matches go-app's link to its stylesheet, whatever the order of
// its attributes.
var appCSSLink = regexp.MustCompile(`<link\b[^>]*\bhref="/app\.css"[^>]*>`)

// loaderIcon matches go-app's loader icon, an <img> of the 192-pixel app
// icon, whatever the order of its attributes.
var loaderIcon = regexp.MustCompile(`<img\b[^>]*\bid="app-wasm-loader-icon"[^>]*>`)

// drawnLoaderIcon replaces the loader's image with a spinner the style
// sheet draws (#app-wasm-loader .goapp-logo): the badge shows in the first
// paint instead of waiting for a PNG to come over the network and decode.
// The element keeps its id and classes, which the loader script changes
// when the console fails to start.
func drawnLoaderIcon(page []byte) []byte {
	return loaderIcon.ReplaceAllLiteral(page, []byte(`<span class="goapp-logo goapp-spin" id="app-wasm-loader-icon" aria-hidden="true"></span>`))
}

// inlineStyles is the console's style sheet as pages carry it.
type inlineStyles struct {
	// block is the <style> element that replaces go-app's link.
	block []byte
	// source is the hash source the Content-Security-Policy's style-src
	// needs to allow the block ('sha256-…').
	source string
}

// readStyles reads the console's stylesheets from dir, each under a
// comment naming it. A stylesheet missing from dir is noted on logw and
// left out (a web directory made for tests may hold only app.wasm).
func readStyles(dir string, logw io.Writer) ([]byte, error) {
	var css bytes.Buffer
	for _, name := range consoleStyles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(logw, "console: %s is missing: the pages go without it\n", filepath.Join(dir, name))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("console: reading the stylesheet: %w", err)
		}
		css.WriteString("\n/* " + name + " */\n")
		css.Write(b)
	}
	return css.Bytes(), nil
}

// newStyles makes go-app's stylesheet, read from h, and the console's (see
// readStyles) one <style> element.
func newStyles(h http.Handler, console []byte) (*inlineStyles, error) {
	rec := &recorder{header: http.Header{}}
	req, err := http.NewRequest(http.MethodGet, "/app.css", nil)
	if err != nil {
		return nil, err
	}
	h.ServeHTTP(rec, req)
	if rec.status != 0 && rec.status != http.StatusOK {
		return nil, fmt.Errorf("console: go-app's stylesheet answered %d", rec.status)
	}
	var css bytes.Buffer
	css.WriteString("\n")
	css.Write(rec.body.Bytes())
	css.Write(console)
	css.WriteString("\n")
	if bytes.Contains(bytes.ToLower(css.Bytes()), []byte("</style")) {
		return nil, errors.New("console: a stylesheet contains </style and cannot be inlined")
	}
	sum := sha256.Sum256(css.Bytes())
	s := &inlineStyles{source: "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"}
	s.block = append(append([]byte("<style>"), css.Bytes()...), "</style>"...)
	return s, nil
}

// inline returns page with go-app's stylesheet link replaced by the style
// block; ok is false when page has no such link or more than one.
func (s *inlineStyles) inline(page []byte) (out []byte, ok bool) {
	loc := appCSSLink.FindAllIndex(page, 2)
	if len(loc) != 1 {
		return page, false
	}
	out = make([]byte, 0, len(page)+len(s.block))
	out = append(out, page[:loc[0][0]]...)
	out = append(out, s.block...)
	return append(out, page[loc[0][1]:]...), true
}

// allow adds the block's hash to the style-src of the response's
// Content-Security-Policy, if it has one.
func (s *inlineStyles) allow(h http.Header) {
	csp := h.Get("Content-Security-Policy")
	if csp == "" {
		return
	}
	var out []string
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "style-src" {
			d = strings.TrimRight(d, " ") + " " + s.source
		}
		out = append(out, d)
	}
	h.Set("Content-Security-Policy", strings.Join(out, ";"))
}

// checkPages fails when go-app's page for path does not link its
// stylesheet as inline expects, so that an upgrade of go-app cannot
// silently leave the pages unstyled or render-blocked.
func (s *inlineStyles) checkPages(h http.Handler, path string) error {
	rec := &recorder{header: http.Header{}}
	req, err := http.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	h.ServeHTTP(rec, req)
	if rec.status != 0 && rec.status != http.StatusOK {
		return fmt.Errorf("console: go-app's page %s answered %d", path, rec.status)
	}
	if _, ok := s.inline(rec.body.Bytes()); !ok {
		return fmt.Errorf("console: go-app's page %s does not link /app.css once: update inlinecss.go", path)
	}
	return nil
}

// pageWriter passes a response through unless it is an HTML page, which it
// keeps until finish inlines the styles and sends it. Every response gets
// the Content-Security-Policy that allows the style block, the pages'
// 304s too: a browser revalidating a cached page keeps the body it has
// and takes the headers of the 304.
type pageWriter struct {
	w      http.ResponseWriter
	styles *inlineStyles
	status int
	page   bool // an HTML page, held in buf
	buf    bytes.Buffer
}

func (p *pageWriter) Header() http.Header { return p.w.Header() }

func (p *pageWriter) WriteHeader(status int) {
	if p.status != 0 {
		return
	}
	p.status = status
	p.styles.allow(p.w.Header())
	ct := p.w.Header().Get("Content-Type")
	if status == http.StatusOK && (ct == "text/html" || strings.HasPrefix(ct, "text/html;")) {
		p.page = true
		return
	}
	p.w.WriteHeader(status)
}

func (p *pageWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.WriteHeader(http.StatusOK)
	}
	if p.page {
		return p.buf.Write(b)
	}
	return p.w.Write(b)
}

// finish sends a held page, with the styles inlined.
func (p *pageWriter) finish(r *http.Request) {
	if !p.page {
		return
	}
	body, _ := p.styles.inline(p.buf.Bytes())
	body = drawnLoaderIcon(body)
	h := p.w.Header()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	p.w.WriteHeader(p.status)
	if r.Method != http.MethodHead {
		p.w.Write(body)
	}
}
