package console

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// faviconPNG is the web directory's icon that /favicon.ico carries: the
// page names /web/icon.svg, but browsers, bookmarks and crawlers still ask
// for /favicon.ico, and a 404 there reads as a console with no icon.
const faviconPNG = "icon-192.png"

// favicon serves /favicon.ico: an ICO file holding the PNG icon (the ICO
// format has carried PNG images since Windows Vista; every browser reads it).
type favicon struct {
	ico      []byte
	modified time.Time
}

// loadFavicon makes the ICO from the PNG icon of dir.
func loadFavicon(dir string) (*favicon, error) {
	p := filepath.Join(dir, faviconPNG)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	ico, err := icoFromPNG(b)
	if err != nil {
		return nil, err
	}
	return &favicon{ico: ico, modified: st.ModTime()}, nil
}

// icoFromPNG wraps one PNG image in an ICO container: the 6-byte ICONDIR,
// one 16-byte ICONDIRENTRY, then the PNG as the image data.
func icoFromPNG(b []byte) ([]byte, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if cfg.Width > 256 || cfg.Height > 256 || cfg.Width < 1 || cfg.Height < 1 {
		return nil, errors.New("console: the favicon PNG must be 1 to 256 pixels a side")
	}
	side := func(n int) byte { return byte(n % 256) } // 256 is written as 0
	var out bytes.Buffer
	binary.Write(&out, binary.LittleEndian, [3]uint16{0, 1, 1}) // reserved, type icon, one image
	out.Write([]byte{side(cfg.Width), side(cfg.Height), 0, 0})  // size, no palette, reserved
	binary.Write(&out, binary.LittleEndian, [2]uint16{1, 32})   // planes, bits per pixel
	binary.Write(&out, binary.LittleEndian, [2]uint32{uint32(len(b)), 6 + 16})
	out.Write(b)
	return out.Bytes(), nil
}

func (f *favicon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/x-icon")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, "favicon.ico", f.modified, bytes.NewReader(f.ico))
}
