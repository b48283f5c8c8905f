package kit

import (
	"embed"
	"strings"
	"sync"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The console's icons are drawn inline, as <svg> elements in the page,
// not as <img> files: each image is one more request before the
// pre-rendered page is complete, and Chromium builds a separate SVG
// document for every SVG image it decodes, fifteen of them on the home
// page before its first paint (BenchmarkPrerenderPaint).
//
//go:embed icons/*.svg
var iconFiles embed.FS

var (
	iconMu    sync.Mutex
	iconCache = map[[2]string]string{}
)

// Icon draws the icon named name (a file of icons/, without .svg: a page's
// ID, or "brand") with the CSS class class. Icons are decorative: their
// text sits next to them, so assistive technology skips them.
func Icon(name, class string) app.UI {
	return app.Raw(iconMarkup(name, class))
}

// iconMarkup returns the <svg> element of the icon, its class and ARIA
// attributes set; an unknown name draws an empty box of the same class
// (what a broken image would take).
func iconMarkup(name, class string) string {
	key := [2]string{name, class}
	iconMu.Lock()
	defer iconMu.Unlock()
	if s, ok := iconCache[key]; ok {
		return s
	}
	attrs := ` class="` + class + `" aria-hidden="true" focusable="false"`
	s := `<svg xmlns="http://www.w3.org/2000/svg"` + attrs + `></svg>`
	if b, err := iconFiles.ReadFile("icons/" + name + ".svg"); err == nil {
		svg := strings.TrimSpace(string(b))
		if rest, ok := strings.CutPrefix(svg, "<svg"); ok {
			s = "<svg" + attrs + rest
		}
	}
	iconCache[key] = s
	return s
}
