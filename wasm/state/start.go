package state

import (
	"context"
	"time"
)

// idleCheckEvery is how often Start checks the idle lock.
const idleCheckEvery = 5 * time.Second

// Start does the tab's first work, once however often it is called: after
// the first page has painted (FirstPaint) it asks the server who is signed
// in, loads the vault, and then checks the idle lock every few seconds
// until ctx is done. Pages call it when they mount; it returns at once.
func (a *App) Start(ctx context.Context) {
	a.mu.Lock()
	started := a.started
	a.started = true
	a.mu.Unlock()
	if started {
		return
	}
	go func() {
		a.FirstPaint(ctx)
		if ctx.Err() != nil {
			return
		}
		go a.RestoreSession(ctx)
		go a.LoadVault(ctx)
		t := time.NewTicker(idleCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.CheckIdle()
			}
		}
	}()
}
