package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Garbage collection deletes a blob only while nothing refers to it and
// no lease on it is current; a failing delete changes nothing.
func testBlobRefs(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	seedProduct(t, s)
	var used, free [32]byte
	used[0], free[0] = 1, 2
	r := rel("r1", "1.0.0", 1)
	r.PayloadDigest = used
	if err := s.PublishRelease(ctx, r, Head{}, ev("release.publish", "r1")); err != nil {
		t.Fatal(err)
	}
	collect := func(d [32]byte, now time.Time) (ran, deleted bool) {
		t.Helper()
		deleted, err := s.CollectBlob(ctx, d, now, func(context.Context) (bool, error) { ran = true; return true, nil })
		if err != nil {
			t.Fatal(err)
		}
		return ran, deleted
	}
	if ran, _ := collect(used, t0); ran {
		t.Error("a release's payload was deleted")
	}
	if ran, deleted := collect(free, t0); !ran || !deleted {
		t.Errorf("an unreferenced blob: delete ran %v, deleted %v", ran, deleted)
	}
	if err := s.LeaseBlob(ctx, free, "a", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.LeaseBlob(ctx, free, "b", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ran, _ := collect(free, t0); ran {
		t.Error("a leased blob was deleted")
	}
	if err := s.ReleaseBlob(ctx, free, "b"); err != nil {
		t.Fatal(err)
	}
	if ran, _ := collect(free, t0.Add(time.Hour-time.Second)); ran {
		t.Error("a blob was deleted while another upload's lease on it runs")
	}
	if ran, _ := collect(free, t0.Add(time.Hour)); !ran {
		t.Error("a blob whose only lease expired was kept")
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM blob_leases`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d leases left (%v), want the expired one removed", n, err)
	}
	boom := errors.New("boom")
	if _, err := s.CollectBlob(ctx, free, t0, func(context.Context) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("a failed delete: %v, want it reported", err)
	}
}
