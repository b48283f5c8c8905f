package console

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// wasmAsset serves app.wasm compressed with brotli or gzip, as the client's
// Accept-Encoding allows, or raw to clients that accept neither.
type wasmAsset struct {
	path    string
	digest  string // hex SHA-256 of the raw file
	size    int64  // raw size
	modTime time.Time
	version string // console version, the base of each variant's ETag
	// variants in order of preference; raw last.
	variants []wasmVariant
}

// wasmVariant is one encoding of app.wasm: on disk (path) or in memory (data).
type wasmVariant struct {
	encoding string // "br", "gzip" or "" for identity
	path     string
	data     []byte
}

func loadWasm(path string, logw io.Writer) (*wasmAsset, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	digest, size, err := fileDigest(path)
	if err != nil {
		return nil, err
	}
	w := &wasmAsset{path: path, digest: digest, size: size, modTime: st.ModTime()}
	for _, enc := range encodings {
		v, err := ensureCompressed(path, st.ModTime(), enc, logw)
		if err != nil {
			return nil, err
		}
		w.variants = append(w.variants, v)
	}
	w.variants = append(w.variants, wasmVariant{path: path})
	return w, nil
}

// acceptsEncoding reports whether an Accept-Encoding header value accepts
// the content coding enc with a non-zero quality. A coding listed by name
// wins over "*".
func acceptsEncoding(header, enc string) bool {
	named, star := -1.0, -1.0
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.TrimSpace(name)
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					f = 0 // an unreadable weight accepts nothing
				}
				q = f
			}
		}
		switch {
		case strings.EqualFold(name, enc):
			named = q
		case name == "*":
			star = q
		}
	}
	if named >= 0 {
		return named > 0
	}
	return star > 0
}

func (w *wasmAsset) pick(acceptEncoding string) wasmVariant {
	for _, v := range w.variants {
		if v.encoding == "" || acceptsEncoding(acceptEncoding, v.encoding) {
			return v
		}
	}
	return w.variants[len(w.variants)-1]
}

func (w *wasmAsset) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	v := w.pick(r.Header.Get("Accept-Encoding"))
	h := rw.Header()
	h.Set("Content-Type", "application/wasm")
	h.Add("Vary", "Accept-Encoding")
	if v.encoding != "" {
		h.Set("Content-Encoding", v.encoding)
	}
	// Each encoding is its own representation, with its own validator.
	h.Set("ETag", `"`+w.version+"-"+v.encoding+`"`)
	// The decompressed size, for loaders that show progress.
	h.Set("X-Uncompressed-Length", strconv.FormatInt(w.size, 10))
	var body io.ReadSeeker
	size := int64(len(v.data))
	if v.data != nil {
		body = bytes.NewReader(v.data)
	} else {
		f, err := os.Open(v.path)
		if err != nil {
			http.Error(rw, "console binary unavailable", http.StatusServiceUnavailable)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			http.Error(rw, "console binary unavailable", http.StatusServiceUnavailable)
			return
		}
		body, size = f, st.Size()
	}
	// ServeContent leaves Content-Length out of encoded responses; a whole
	// body's length is known, so send it.
	if v.encoding != "" && r.Header.Get("Range") == "" {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	http.ServeContent(rw, r, "", w.modTime, body)
}

func (w *wasmAsset) String() string {
	return fmt.Sprintf("%s (%d bytes, sha256 %s)", w.path, w.size, w.digest[:12])
}
