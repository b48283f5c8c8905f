package updatelog

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestSyncerEnds: Run syncs at once, again at each Kick, and returns when
// its context ends, leaving no goroutine behind.
func TestSyncerEnds(t *testing.T) {
	base := runtime.NumGoroutine()
	var syncs atomic.Int32
	synced := make(chan struct{}, 10)
	s := &Syncer{Every: time.Hour, Sync: func(ctx context.Context) {
		syncs.Add(1)
		synced <- struct{}{}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	<-synced // the first, at once
	s.Kick()
	<-synced // the kicked one
	cancel()
	<-done
	if n := syncs.Load(); n != 2 {
		t.Errorf("%d syncs, want 2 (the first and the kicked one)", n)
	}
	for i := 0; i < 100 && runtime.NumGoroutine() > base; i++ {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("%d goroutines after Run returned, %d before", n, base)
	}
}

// TestSyncerWaitsForStart: nothing is sent before Start allows it, and a
// context that ends first ends Run without a sync.
func TestSyncerWaitsForStart(t *testing.T) {
	s := &Syncer{Sync: func(context.Context) { t.Error("synced before Start allowed it") },
		Start: func(ctx context.Context) { <-ctx.Done() }}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Run(ctx)
}

// TestSyncerKickDoesNotBlock: kicks while a sync runs fold into one.
func TestSyncerKickDoesNotBlock(t *testing.T) {
	var s Syncer
	for range 10 {
		s.Kick() // before Run, with nobody receiving
	}
}
