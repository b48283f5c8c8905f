package updatelog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"trustforge/devices/fwupdate"
	"trustforge/wasm/storage"
)

func record(t *testing.T, n int, at time.Time) *fwupdate.Record {
	t.Helper()
	r, err := fwupdate.NewRecord(strings.NewReader(strings.Repeat(string(rune('a'+n)), 16)), at)
	if err != nil {
		t.Fatal(err)
	}
	r.Product, r.Version = "thermo", fmt.Sprintf("1.%d.0", n)
	r.Finish(fwupdate.Updated, "", at.Add(time.Minute))
	return r
}

func TestSyncOldestFirstAndStopsOffline(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	l := &Log{Store: &storage.Memory{}, Now: func() time.Time { return now }}
	for i := range 3 {
		if err := l.Add(ctx, record(t, i, now.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := l.Waiting(ctx); n != 3 {
		t.Fatalf("%d waiting, want 3", n)
	}
	offline := errors.New("the server cannot be reached")
	var order []string
	sent, err := l.Sync(ctx, func(_ context.Context, r *fwupdate.Record) error {
		order = append(order, r.Version)
		if len(order) == 2 {
			return offline
		}
		return nil
	})
	if !errors.Is(err, offline) || sent != 1 {
		t.Fatalf("Sync = %d, %v; want 1 sent then the network error", sent, err)
	}
	if got := strings.Join(order, " "); got != "1.0.0 1.1.0" {
		t.Errorf("sent in order %s, want oldest first", got)
	}
	list, _ := l.List(ctx)
	if list[0].Record.Version != "1.2.0" || !list[1].Pending() || list[1].LastError == "" || list[2].Pending() {
		t.Errorf("log after a failed sync: %+v", list)
	}
	// Back online: the rest goes, and nothing is sent twice.
	order = nil
	sent, err = l.Sync(ctx, func(_ context.Context, r *fwupdate.Record) error {
		order = append(order, r.Version)
		return nil
	})
	if err != nil || sent != 2 || strings.Join(order, " ") != "1.1.0 1.2.0" {
		t.Errorf("second Sync = %d, %v, sent %v", sent, err, order)
	}
	if n, _ := l.Waiting(ctx); n != 0 {
		t.Errorf("%d still waiting", n)
	}
	e, ok, err := l.Get(ctx, list[1].Record.ID)
	if err != nil || !ok || e.Sent.IsZero() || e.LastError != "" {
		t.Errorf("Get = %+v, %v, %v", e, ok, err)
	}
}

func TestRefusedRecordIsNotSentAgain(t *testing.T) {
	ctx := context.Background()
	l := &Log{Store: &storage.Memory{}}
	if err := l.Add(ctx, record(t, 0, time.Now())); err != nil {
		t.Fatal(err)
	}
	calls := 0
	send := func(context.Context, *fwupdate.Record) error {
		calls++
		return &Refusal{Err: errors.New("bad_field: record")}
	}
	if _, err := l.Sync(ctx, send); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sync(ctx, send); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("a refused record was sent %d times", calls)
	}
	list, _ := l.List(ctx)
	if list[0].Refused == "" || list[0].Pending() {
		t.Errorf("entry %+v, want refused", list[0])
	}
}

func TestAddRefusesInvalidRecords(t *testing.T) {
	l := &Log{Store: &storage.Memory{}}
	if err := l.Add(context.Background(), &fwupdate.Record{ID: "x"}); !errors.Is(err, fwupdate.ErrInvalidRecord) {
		t.Errorf("Add = %v, want ErrInvalidRecord", err)
	}
}
