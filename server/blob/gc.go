package blob

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"
)

// Info describes a committed blob.
type Info struct {
	Digest   Digest
	Size     int64
	Modified time.Time // when it was (last) committed
}

// InfoWalker is a Store that lists blobs with their size and age.
type InfoWalker interface {
	WalkInfo(ctx context.Context, fn func(Info) error) error
}

// Sweeper is a Store that keeps unfinished uploads where other processes
// see them and can remove those begun before a time.
type Sweeper interface {
	Sweep(ctx context.Context, before time.Time) error
}

// olderDeleter is a Store that deletes a blob only while it is older than
// a time.
type olderDeleter interface {
	deleteIfOlder(ctx context.Context, d Digest, before time.Time) (bool, error)
}

// Guard decides, for each blob the collector found unreferenced, whether
// it may go: it calls del (which deletes the blob unless it was committed
// again since before) only if the blob is still unreferenced, keeping any
// upload of the same bytes from committing it while del runs, and reports
// whether del deleted it. store.BlobRefs.CollectBlob is one.
type Guard func(ctx context.Context, d Digest, del func(context.Context) (bool, error)) (bool, error)

// Collect deletes the blobs keep rejects that were committed before
// before, and (for a Sweeper) unfinished uploads begun before it, and
// returns how many blobs it deleted. A store shared by several server
// instances is collected with before well in the past (a grace period), so
// a blob committed by an upload whose metadata another instance has not
// yet recorded is never taken for an orphan; and with a guard, which
// closes the window between the last look at a blob and its deletion in
// which an upload of the same bytes could commit it again. A nil guard
// deletes at once. For a Store that cannot tell a blob's age, before is
// ignored: use it only where no upload can be in progress.
func Collect(ctx context.Context, st Store, keep func(Digest) bool, before time.Time, guard Guard) (int, error) {
	if sw, ok := st.(Sweeper); ok {
		if err := sw.Sweep(ctx, before); err != nil {
			return 0, err
		}
	}
	var orphans []Digest
	var err error
	if iw, ok := st.(InfoWalker); ok {
		err = iw.WalkInfo(ctx, func(i Info) error {
			if !keep(i.Digest) && i.Modified.Before(before) {
				orphans = append(orphans, i.Digest)
			}
			return nil
		})
	} else {
		err = st.Walk(ctx, func(d Digest) error {
			if !keep(d) {
				orphans = append(orphans, d)
			}
			return nil
		})
	}
	if err != nil {
		return 0, err
	}
	if guard == nil {
		guard = func(ctx context.Context, _ Digest, del func(context.Context) (bool, error)) (bool, error) {
			return del(ctx)
		}
	}
	n := 0
	for _, d := range orphans {
		deleted, err := guard(ctx, d, func(ctx context.Context) (bool, error) {
			if od, ok := st.(olderDeleter); ok {
				// The blob may have been committed again since the
				// listing, by an upload of the same bytes: look once more.
				return od.deleteIfOlder(ctx, d, before)
			}
			return true, st.Delete(ctx, d)
		})
		if err != nil {
			return n, err
		}
		if deleted {
			n++
		}
	}
	return n, nil
}

// WalkInfo lists committed blobs with their size and modification time.
func (d *Dir) WalkInfo(ctx context.Context, fn func(Info) error) error {
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
			return nil
		}
		st, err := e.Info()
		if err != nil {
			return fmt.Errorf("blob: %w", err)
		}
		return fn(Info{Digest: dg, Size: st.Size(), Modified: st.ModTime()})
	})
}
