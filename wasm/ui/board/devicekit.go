package board

import (
	"context"
	"sync"
	"time"

	"trustforge/devices/fwupdate"
	"trustforge/internal/notify"
	"trustforge/wasm/link"
	"trustforge/wasm/releasecache"
	"trustforge/wasm/state"
	"trustforge/wasm/storage"
	"trustforge/wasm/updatelog"
)

// IndexedDB databases of the Devices pages.
const (
	releaseCacheDB = "trustforge-releases"
	updateLogDB    = "trustforge-updates"
)

// Kit is what the Devices and Update pages share for the tab's
// lifetime: the link to the board, the cache of downloaded releases and the
// log of updates, whose records it sends to the server when it can.
type Kit struct {
	// Link is the connection to the board.
	Link *link.Link

	// Synced tells of finished syncs; Board of changes to the board
	// made by one panel that the others must read again.
	Synced, Board notify.List

	mu      sync.Mutex
	cache   *releasecache.Cache
	log     *updatelog.Log
	syncing bool
	syncer  updatelog.Syncer
	lastErr error // of the last sync attempt

	// ctx is the kit's: the sync runs until close cancels it, and wg
	// waits for it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewKit returns the tab's kit, its link to a board not yet connected.
func NewKit() *Kit {
	ctx, cancel := context.WithCancel(context.Background())
	return &Kit{Link: link.New(), ctx: ctx, cancel: cancel}
}

// close ends the kit's sync and its link to the board, and returns when
// their goroutines have ended. The console's kit lives as long as the tab;
// tests close theirs.
func (k *Kit) close() {
	k.cancel()
	k.wg.Wait()
	k.Link.Close()
}

// Stores opens the release cache and the update log, once.
func (k *Kit) Stores(ctx context.Context) (*releasecache.Cache, *updatelog.Log, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cache == nil {
		st, err := storage.Open(ctx, releaseCacheDB)
		if err != nil {
			return nil, nil, err
		}
		k.cache = &releasecache.Cache{Store: st}
	}
	if k.log == nil {
		st, err := storage.Open(ctx, updateLogDB)
		if err != nil {
			return nil, nil, err
		}
		k.log = &updatelog.Log{Store: st}
	}
	return k.cache, k.log, nil
}

// technicianKey is where the update log's store keeps the last account
// seen signed in on this browser.
const technicianKey = "technician"

// Technician returns who runs updates on this browser: the signed-in
// account, remembered for a console reloaded without network, when the
// session cannot be asked for.
func (k *Kit) Technician(ctx context.Context, st *state.App) string {
	_, log, err := k.Stores(ctx)
	if s, ok := st.Session(); ok {
		if err == nil {
			log.Store.Put(ctx, technicianKey, []byte(s.User))
		}
		return s.User
	}
	if err != nil {
		return ""
	}
	b, _, _ := log.Store.Get(ctx, technicianKey)
	return string(b)
}

// SyncError returns why the last sync did not send everything, or nil.
func (k *Kit) SyncError() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lastErr
}

// Kick asks the syncer to send waiting records now.
func (k *Kit) Kick() { k.syncer.Kick() }

// StartSync starts, once for the kit, the goroutine that sends waiting
// update records to the server (updatelog.Syncer says when) until the kit
// is closed.
func (k *Kit) StartSync(st *state.App) {
	k.mu.Lock()
	if k.syncing || k.ctx.Err() != nil {
		k.mu.Unlock()
		return
	}
	k.syncing = true
	k.syncer.Sync = func(ctx context.Context) { k.syncOnce(ctx, st) }
	k.syncer.Start = st.FirstPaint
	k.mu.Unlock()
	stop := listenOnline(k.Kick)
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		defer stop()
		k.syncer.Run(k.ctx)
	}()
}

// syncOnce is one pass of the sync: updatelog.Log.SyncWaiting decides
// whether anything is sent, updatelog.Sender how.
func (k *Kit) syncOnce(ctx context.Context, st *state.App) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, log, err := k.Stores(ctx)
	if err != nil {
		return
	}
	send := updatelog.Sender{
		SignedIn: func() bool { _, ok := st.Session(); return ok },
		Restore:  st.RestoreSession,
		Record: func(ctx context.Context, r *fwupdate.Record) error {
			return st.API.RecordUpdate(ctx, r)
		},
	}
	k.setSyncErr(log.SyncWaiting(ctx, browserOnline, send.Send))
}

func (k *Kit) setSyncErr(err error) {
	k.mu.Lock()
	k.lastErr = err
	k.mu.Unlock()
	k.Synced.Notify()
}
