package console

import (
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// staticDir resolves go-app's resource paths to this server and serves the
// files of the web directory under /web/: regular files only, no listings.
// The console binary itself is served by the precompressed wasm asset.
type staticDir struct {
	dir  string
	wasm *wasmAsset
}

// Resolve keeps every path on this origin.
func (s staticDir) Resolve(location string) string {
	if location == "" {
		return "/"
	}
	return location
}

func (s staticDir) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := path.Clean("/" + strings.TrimPrefix(r.URL.Path, "/web/"))
	if name == "/"+WasmFile {
		s.wasm.ServeHTTP(w, r)
		return
	}
	// The precompressed copies are reached through content negotiation only.
	if strings.HasPrefix(name, "/"+WasmFile+".") {
		http.NotFound(w, r)
		return
	}
	p := filepath.Join(s.dir, filepath.FromSlash(name))
	f, err := os.Open(p)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, name, st.ModTime(), f)
}
