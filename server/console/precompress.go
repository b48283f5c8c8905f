package console

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/andybalholm/brotli"
)

// encoding is a content coding the console binary is precompressed with.
type encoding struct {
	name   string // Content-Encoding token
	suffix string // file suffix of the precompressed copy
	writer func(io.Writer) io.WriteCloser
}

// encodings lists the precompressed codings, most preferred first.
var encodings = []encoding{
	{name: "br", suffix: ".br", writer: func(w io.Writer) io.WriteCloser {
		// A 16 MiB window (the most browsers accept) sees across the
		// whole console binary.
		return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: 24})
	}},
	{name: "gzip", suffix: ".gz", writer: func(w io.Writer) io.WriteCloser {
		zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
		return zw
	}},
}

// Precompress writes the brotli and gzip copies of the file at path next to
// it (path.br, path.gz), each written to a temporary file and renamed, so a
// reader never sees half a file. Copies newer than the source are kept.
func Precompress(path string, logw io.Writer) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	for _, enc := range encodings {
		v, err := ensureCompressed(path, st.ModTime(), enc, logw)
		if err != nil {
			return err
		}
		if v.data != nil {
			return fmt.Errorf("console: cannot write %s%s next to the source", path, enc.suffix)
		}
	}
	return nil
}

// ensureCompressed returns the enc variant of the file at path: the copy on
// disk when it is at least as new as the source, else a fresh one, written to
// disk when possible and kept in memory otherwise.
func ensureCompressed(path string, srcMod time.Time, enc encoding, logw io.Writer) (wasmVariant, error) {
	out := path + enc.suffix
	if st, err := os.Stat(out); err == nil && st.Size() > 0 && !st.ModTime().Before(srcMod) {
		return wasmVariant{encoding: enc.name, path: out}, nil
	}
	start := time.Now()
	src, err := os.Open(path)
	if err != nil {
		return wasmVariant{}, fmt.Errorf("console: %w", err)
	}
	defer src.Close()

	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(out)+".tmp*")
	if err != nil {
		// A read-only web directory: compress into memory instead.
		data, err := compressToMemory(src, enc)
		if err != nil {
			return wasmVariant{}, err
		}
		fmt.Fprintf(logw, "console: compressed %s with %s in memory (%d bytes, %s)\n", path, enc.name, len(data), time.Since(start).Round(time.Millisecond))
		return wasmVariant{encoding: enc.name, data: data}, nil
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	zw := enc.writer(tmp)
	if _, err := io.Copy(zw, src); err != nil {
		tmp.Close()
		return wasmVariant{}, fmt.Errorf("console: compressing %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return wasmVariant{}, fmt.Errorf("console: compressing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return wasmVariant{}, fmt.Errorf("console: writing %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return wasmVariant{}, fmt.Errorf("console: writing %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return wasmVariant{}, fmt.Errorf("console: writing %s: %w", out, err)
	}
	st, _ := os.Stat(out)
	fmt.Fprintf(logw, "console: wrote %s (%d bytes, %s)\n", out, st.Size(), time.Since(start).Round(time.Millisecond))
	return wasmVariant{encoding: enc.name, path: out}, nil
}

func compressToMemory(src io.Reader, enc encoding) ([]byte, error) {
	var buf bytes.Buffer
	zw := enc.writer(&buf)
	if _, err := io.Copy(zw, src); err != nil {
		return nil, fmt.Errorf("console: compressing: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("console: compressing: %w", err)
	}
	return buf.Bytes(), nil
}
