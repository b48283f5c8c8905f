// Package releasecache keeps downloaded releases in the browser (IndexedDB
// through wasm/storage), so a field technician can download at the office
// and flash on a site with no network. A download is stored in chunks as it
// arrives and resumes with an HTTP range where it stopped; the product's
// registered signing keys are kept with it, so the release can be verified
// offline.
//
// The cache holds what the server holds: signed manifests and age
// ciphertext. It never stores a decrypted image; verification and
// decryption happen when the release is used (wasm/release, crypto/bundle).
package releasecache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"trustforge/internal/usererr"
	"trustforge/wasm/client"
	"trustforge/wasm/storage"
)

// ChunkSize is how many downloaded bytes are stored per record: a resumed
// download restarts at most this much before where it stopped.
const ChunkSize = 256 << 10

// MaxBundle bounds a cached bundle.
const MaxBundle = 256 << 20

// Entry is a cached release.
type Entry struct {
	// Release is the server's record of the release, as listed.
	Release client.Release `json:"release"`
	// Keys are the product's release-signing keys when it was downloaded.
	Keys []client.Key `json:"keys"`
	// Size is the bundle's size; Have how many bytes are stored.
	Size int64 `json:"size"`
	Have int64 `json:"have"`
	// ETag names the download, to resume it.
	ETag string `json:"etag"`
	// Saved is when the download completed (zero while incomplete).
	Saved time.Time `json:"saved"`
}

// Complete reports whether the whole bundle is stored.
func (e Entry) Complete() bool { return e.Size > 0 && e.Have == e.Size }

// Cache is the release cache in a store.
type Cache struct {
	// Store holds the cache. Required.
	Store storage.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

const (
	entryPrefix = "entry/"
	chunkPrefix = "chunk/"
)

func entryKey(id string) string          { return entryPrefix + id }
func chunkKey(id string, n int64) string { return fmt.Sprintf("%s%s/%010d", chunkPrefix, id, n) }

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// validID accepts release IDs as the server makes them: hex digests.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !strings.ContainsRune("0123456789abcdef", rune(id[i])) {
			return false
		}
	}
	return true
}

// List returns the cached releases, complete or not, newest version first
// within each product.
func (c *Cache) List(ctx context.Context) ([]Entry, error) {
	keys, err := c.Store.List(ctx, entryPrefix)
	if err != nil {
		return nil, usererr.Errorf("releasecache", "%w", err)
	}
	out := make([]Entry, 0, len(keys))
	for _, k := range keys {
		e, ok, err := c.Get(ctx, strings.TrimPrefix(k, entryPrefix))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Release, out[j].Release
		if a.Product != b.Product {
			return a.Product < b.Product
		}
		return a.Uploaded.After(b.Uploaded)
	})
	return out, nil
}

// Get returns the cached release id.
func (c *Cache) Get(ctx context.Context, id string) (Entry, bool, error) {
	b, ok, err := c.Store.Get(ctx, entryKey(id))
	if err != nil || !ok {
		return Entry{}, false, err
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return Entry{}, false, usererr.Errorf("releasecache", "entry %s is corrupt: %w", id, err)
	}
	return e, true, nil
}

func (c *Cache) put(ctx context.Context, e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return c.Store.Put(ctx, entryKey(e.Release.ID), b)
}

// Download stores release rel's bundle, with keys (the product's signing
// keys), resuming a download that was cut. progress, when not nil, is
// called with the bytes stored and the total as chunks are stored.
func (c *Cache) Download(ctx context.Context, api *client.Client, rel client.Release, keys []client.Key, progress func(have, total int64)) (Entry, error) {
	if !validID(rel.ID) {
		return Entry{}, usererr.Errorf("releasecache", "release id %q", rel.ID)
	}
	e, ok, err := c.Get(ctx, rel.ID)
	if err != nil {
		return Entry{}, err
	}
	if ok && e.Complete() {
		return e, nil
	}
	if !ok {
		e = Entry{Release: rel, Size: rel.BundleSize}
	}
	e.Release, e.Keys = rel, keys
	for attempt := 0; ; attempt++ {
		w := &chunkWriter{ctx: ctx, c: c, e: &e, progress: progress}
		total, etag, err := api.DownloadRange(ctx, rel.ID, "bundle", client.Ranged{Offset: e.Have, ETag: e.ETag}, w)
		if errors.Is(err, client.ErrChanged) && attempt == 0 {
			// The bundle changed since the first part was stored: start over.
			if err := c.dropChunks(ctx, rel.ID); err != nil {
				return e, err
			}
			e.Have, e.ETag = 0, ""
			continue
		}
		if e.Have == 0 || e.ETag == "" {
			e.ETag = etag
		}
		if total > 0 {
			e.Size = total
		}
		if ferr := w.flush(); err == nil {
			err = ferr
		}
		if perr := c.put(ctx, e); err == nil {
			err = perr
		}
		if err != nil {
			return e, usererr.Errorf("releasecache", "downloading release %s %s: %w", rel.Product, rel.Version, err)
		}
		break
	}
	if e.Size > MaxBundle {
		return e, usererr.Errorf("releasecache", "release %s is %d bytes, more than %d", rel.ID, e.Size, MaxBundle)
	}
	if !e.Complete() {
		return e, usererr.Errorf("releasecache", "release %s: %d of %d bytes arrived; download it again to resume", rel.ID, e.Have, e.Size)
	}
	e.Saved = c.now().UTC()
	if err := c.put(ctx, e); err != nil {
		return e, usererr.Errorf("releasecache", "%w", err)
	}
	return e, nil
}

// chunkWriter stores a download in ChunkSize records as it arrives.
type chunkWriter struct {
	ctx      context.Context
	c        *Cache
	e        *Entry
	buf      []byte
	progress func(have, total int64)
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	if w.e.Have+int64(len(w.buf)+len(p)) > MaxBundle {
		return 0, usererr.Errorf("", "the bundle is more than %d bytes", MaxBundle)
	}
	w.buf = append(w.buf, p...)
	for len(w.buf) >= ChunkSize {
		if err := w.store(w.buf[:ChunkSize]); err != nil {
			return 0, err
		}
		w.buf = append(w.buf[:0], w.buf[ChunkSize:]...)
	}
	return len(p), nil
}

// flush stores what is left: the end of the bundle, or the part received
// before the download was cut.
func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.store(w.buf)
	w.buf = nil
	return err
}

func (w *chunkWriter) store(b []byte) error {
	// Chunks are named by their offset: a resumed download continues the
	// sequence wherever the last one ended.
	if err := w.c.Store.Put(w.ctx, chunkKey(w.e.Release.ID, w.e.Have), b); err != nil {
		return err
	}
	w.e.Have += int64(len(b))
	if err := w.c.put(w.ctx, *w.e); err != nil {
		return err
	}
	if w.progress != nil {
		w.progress(w.e.Have, w.e.Size)
	}
	return nil
}

// Bundle returns the stored bundle of a complete cached release.
func (c *Cache) Bundle(ctx context.Context, id string) ([]byte, error) {
	e, ok, err := c.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok || !e.Complete() {
		return nil, usererr.Errorf("releasecache", "release %s is not downloaded", id)
	}
	keys, err := c.Store.List(ctx, chunkPrefix+id+"/")
	if err != nil {
		return nil, usererr.Errorf("releasecache", "%w", err)
	}
	var buf bytes.Buffer
	buf.Grow(int(e.Size))
	for _, k := range keys {
		want := chunkKey(id, int64(buf.Len()))
		if k != want {
			return nil, usererr.Errorf("releasecache", "release %s: chunk %s where %s was expected", id, k, want)
		}
		b, ok, err := c.Store.Get(ctx, k)
		if err != nil || !ok {
			return nil, usererr.Errorf("releasecache", "release %s: chunk %s missing: %v", id, k, err)
		}
		buf.Write(b)
	}
	if int64(buf.Len()) != e.Size {
		return nil, usererr.Errorf("releasecache", "release %s: %d bytes stored, %d expected", id, buf.Len(), e.Size)
	}
	return buf.Bytes(), nil
}

// Delete removes a cached release.
func (c *Cache) Delete(ctx context.Context, id string) error {
	if err := c.dropChunks(ctx, id); err != nil {
		return err
	}
	if err := c.Store.Delete(ctx, entryKey(id)); err != nil {
		return usererr.Errorf("releasecache", "%w", err)
	}
	return nil
}

func (c *Cache) dropChunks(ctx context.Context, id string) error {
	keys, err := c.Store.List(ctx, chunkPrefix+id+"/")
	if err != nil {
		return usererr.Errorf("releasecache", "%w", err)
	}
	for _, k := range keys {
		if err := c.Store.Delete(ctx, k); err != nil {
			return usererr.Errorf("releasecache", "%w", err)
		}
	}
	return nil
}
