package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"io"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx"

	"trustforge/crypto/bundle"
	"trustforge/server/blob"
	"trustforge/server/internal/testbundle"
)

// hookedBlobs runs beforeDelete between the collector's last look at a
// blob and its deletion: the window an identical upload used to slip into.
type hookedBlobs struct {
	blob.Store
	beforeDelete func(blob.Digest)
}

func (h *hookedBlobs) WalkInfo(ctx context.Context, fn func(blob.Info) error) error {
	return h.Store.(blob.InfoWalker).WalkInfo(ctx, fn)
}

func (h *hookedBlobs) Delete(ctx context.Context, d blob.Digest) error {
	h.beforeDelete(d)
	return h.Store.Delete(ctx, d)
}

// The garbage collector on one instance finds an old, unreferenced blob;
// just before it deletes it, an engineer publishes, on another instance, a
// release whose payload is those very bytes. The release must download
// whole afterwards: the upload's lease either keeps the blob from the
// collector, or waits for the collector and writes the blob again.
func TestScaleOutCollectorRacesIdenticalUpload(t *testing.T) {
	c := newCluster(t, 2)
	e := c.e
	ctx := context.Background()
	tfb := e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1, ImageSize: 64 << 10})
	r := bytes.NewReader(tfb)
	if _, err := bundle.ReadHeader(r); err != nil {
		t.Fatal(err)
	}
	payload, _ := io.ReadAll(r)
	d := blob.Digest(sha256.Sum256(payload))
	in := c.insts[0].srv
	orphan := func() {
		t.Helper()
		w, err := in.blobs.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(payload)
		if got, err := w.Commit(ctx); err != nil || got != d {
			t.Fatalf("orphan blob: %x, %v", got, err)
		}
	}
	exists := func() bool {
		o, err := in.blobs.Open(ctx, d)
		if err == nil {
			o.Close()
		}
		return err == nil
	}
	// The collector runs with its grace period over: every unreferenced
	// blob is old enough to go.
	collect := func(bs blob.Store) int {
		t.Helper()
		now := time.Now()
		n, err := CollectGarbage(ctx, in.store, bs, true, now, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// An upload that took its lease first keeps the blob; an expired
	// lease keeps nothing.
	orphan()
	if err := in.store.LeaseBlob(ctx, d, "upload 1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := in.store.LeaseBlob(ctx, d, "upload 2", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := collect(in.blobs); n != 0 || !exists() {
		t.Fatalf("a leased blob: %d collected, still there %v", n, exists())
	}
	if err := in.store.ReleaseBlob(ctx, d, "upload 1"); err != nil {
		t.Fatal(err)
	}
	if n := collect(in.blobs); n != 1 || exists() {
		t.Fatalf("the blob once its lease is given up: %d collected, still there %v", n, exists())
	}

	// The collector decides first; the upload on the other instance
	// starts in its window and must not write the blob before the
	// delete.
	orphan()
	db, err := sql.Open("pgx", scaledDirs[c.key].db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := int64(binary.BigEndian.Uint64(d[:8]))
	published := make(chan int, 1)
	var rel releaseOutT
	hooked := &hookedBlobs{Store: in.blobs, beforeDelete: func(got blob.Digest) {
		if got != d {
			return
		}
		go func() {
			resp, err := c.on(1, "POST", "/api/releases", e.tokens["engineer"], bytes.NewReader(tfb),
				map[string]string{"Content-Type": "application/octet-stream"})
			if err != nil {
				t.Error(err)
				published <- 0
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if err := jsonUnmarshal(b, &rel); err != nil || resp.StatusCode != 201 {
				t.Errorf("publish: %d %s", resp.StatusCode, b)
			}
			published <- resp.StatusCode
		}()
		// Until the upload is done, or waits for the lock on this blob.
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-published:
				published <- 201 // for the test below; the release is checked there
				t.Log("the upload finished inside the collector's window")
				return
			case <-tick.C:
			}
			var waiting int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
				AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1`,
				int64(uint32(key>>32)), int64(uint32(key))).Scan(&waiting); err != nil {
				t.Error(err)
				return
			}
			if waiting > 0 {
				t.Log("the upload waits for the collector")
				return
			}
		}
	}}
	n := collect(hooked)
	<-published
	if t.Failed() {
		t.FailNow()
	}
	if n != 1 {
		t.Errorf("%d blobs collected, want the orphan", n)
	}
	for i := range c.insts {
		resp, err := c.on(i, "GET", "/api/releases/"+rel.ID+"/bundle", e.tokens["technician"], nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, tfb) {
			t.Errorf("instance %d: the release published while its payload was collected: %d, %d of %d bytes", i, resp.StatusCode, len(got), len(tfb))
		}
	}
	if n := collect(in.blobs); n != 0 || !exists() {
		t.Errorf("the release's payload: %d collected, still there %v", n, exists())
	}
}
