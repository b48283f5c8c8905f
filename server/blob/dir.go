package blob

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Dir is a Store in a local directory:
//
//	ROOT/sha256/ab/abcdef…   committed blobs, read-only files
//	ROOT/tmp/                blobs being written; emptied by OpenDir
//
// Commit writes through a temporary file that is fsynced, renamed into
// place and made durable by syncing the directory, so a crash never
// leaves a partial blob under a digest.
type Dir struct {
	root string
}

// OpenDir opens (creating if needed) a blob directory and removes blobs
// left half-written by an earlier crash. Only one process may use a Dir.
func OpenDir(root string) (*Dir, error) {
	for _, d := range []string{root, filepath.Join(root, "sha256"), filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("blob: %w", err)
		}
	}
	tmp := filepath.Join(root, "tmp")
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(tmp, e.Name())); err != nil {
			return nil, fmt.Errorf("blob: removing unfinished upload: %w", err)
		}
	}
	return &Dir{root: root}, nil
}

func (d *Dir) path(dg Digest) string {
	s := dg.String()
	return filepath.Join(d.root, "sha256", s[:2], s)
}

// Create starts a new blob in ROOT/tmp.
func (d *Dir) Create(ctx context.Context) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "blob-*")
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &dirWriter{d: d, f: f, h: sha256.New()}, nil
}

// Open opens a committed blob.
func (d *Dir) Open(ctx context.Context, dg Digest) (Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(d.path(dg))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, dg)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &dirObject{File: f, size: st.Size()}, nil
}

// Delete removes a committed blob.
func (d *Dir) Delete(ctx context.Context, dg Digest) error {
	err := os.Remove(d.path(dg))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// Walk lists committed blobs.
func (d *Dir) Walk(ctx context.Context, fn func(Digest) error) error {
	top := filepath.Join(d.root, "sha256")
	return filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("blob: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		dg, perr := ParseDigest(e.Name())
		if perr != nil || strings.HasSuffix(p, ".tmp") {
			return nil // not ours; leave it alone
		}
		return fn(dg)
	})
}

// dirObject is an open blob file. It embeds *os.File so the HTTP server can
// hand it to sendfile(2).
type dirObject struct {
	*os.File
	size int64
}

func (o *dirObject) Size() int64 { return o.size }

type dirWriter struct {
	d      *Dir
	f      *os.File
	h      hash.Hash
	n      int64
	err    error
	closed bool
}

func (w *dirWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	if err != nil {
		w.err = fmt.Errorf("blob: %w", err)
	}
	return n, w.err
}

func (w *dirWriter) Sum() (Digest, int64) {
	var dg Digest
	w.h.Sum(dg[:0])
	return dg, w.n
}

func (w *dirWriter) Commit(ctx context.Context) (Digest, error) {
	if w.closed {
		return Digest{}, errors.New("blob: commit after commit or abort")
	}
	dg, _ := w.Sum()
	if w.err != nil {
		w.Abort()
		return Digest{}, w.err
	}
	if err := ctx.Err(); err != nil {
		w.Abort()
		return Digest{}, err
	}
	if err := w.f.Sync(); err != nil {
		w.Abort()
		return Digest{}, fmt.Errorf("blob: sync: %w", err)
	}
	if err := w.f.Chmod(0o400); err != nil {
		w.Abort()
		return Digest{}, fmt.Errorf("blob: %w", err)
	}
	if err := w.f.Close(); err != nil {
		w.closed = true
		os.Remove(w.f.Name())
		return Digest{}, fmt.Errorf("blob: %w", err)
	}
	w.closed = true
	dst := w.d.path(dg)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		os.Remove(w.f.Name())
		return Digest{}, fmt.Errorf("blob: %w", err)
	}
	if err := os.Rename(w.f.Name(), dst); err != nil {
		os.Remove(w.f.Name())
		return Digest{}, fmt.Errorf("blob: %w", err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return Digest{}, err
	}
	if err := syncDir(filepath.Join(w.d.root, "sha256")); err != nil {
		return Digest{}, err
	}
	return dg, nil
}

func (w *dirWriter) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob: sync %s: %w", dir, err)
	}
	return nil
}

// Ping checks that the blob directory is still there.
func (d *Dir) Ping(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(d.root, "sha256")); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}
