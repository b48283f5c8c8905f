package updatelog

import (
	"context"
	"sync"
	"time"
)

// DefaultSyncEvery is how often a Syncer with no Every offers waiting
// records to the server.
const DefaultSyncEvery = 30 * time.Second

// Syncer decides when waiting records are sent: once at the start, every
// Every, and at each Kick (after an update, when the browser comes back
// online), until Run's context ends. What a sync does is Sync's business.
type Syncer struct {
	// Sync sends what is waiting; it is called from Run's goroutine, one
	// call at a time.
	Sync func(ctx context.Context)
	// Every is the time between syncs; zero means DefaultSyncEvery.
	Every time.Duration
	// Start, when not nil, is waited for before the first sync (the
	// console waits for its first paint); it returns early when ctx ends.
	Start func(ctx context.Context)

	once sync.Once
	wake chan struct{}
}

func (s *Syncer) init() { s.once.Do(func() { s.wake = make(chan struct{}, 1) }) }

// Kick asks for a sync now. It never blocks: kicks that arrive while a
// sync runs fold into one more.
func (s *Syncer) Kick() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run syncs until ctx ends, and returns then.
func (s *Syncer) Run(ctx context.Context) {
	s.init()
	if s.Start != nil {
		s.Start(ctx)
	}
	every := s.Every
	if every == 0 {
		every = DefaultSyncEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for ctx.Err() == nil {
		s.Sync(ctx)
		select {
		case <-s.wake:
		case <-t.C:
		case <-ctx.Done():
		}
	}
}
