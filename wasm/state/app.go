package state

import (
	"context"
	"errors"
	"sync"
	"time"

	"trustforge/crypto/vault"
	"trustforge/internal/notify"
	"trustforge/wasm/client"
)

// DefaultIdleLock is how long the vault stays unlocked without activity.
const DefaultIdleLock = 15 * time.Minute

// Config configures New. Only API is required.
type Config struct {
	// API is the release server's client.
	API *client.Client
	// OpenStore opens the store the vault lives in (IndexedDB in the
	// browser). Nil means a fresh in-memory store.
	OpenStore func(ctx context.Context) (vault.Store, error)
	// Vault configures the vault (scrypt cost, clock, randomness).
	Vault vault.Options
	// IdleLock locks the vault after this long without Touch. Zero means
	// DefaultIdleLock; negative never locks on idleness.
	IdleLock time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SignedIn remembers across reloads whether this browser has a
	// session, so that a tab that never signed in does not ask the server
	// (whose "no", a 401, the browser logs as a failed request). Nil means
	// always ask.
	SignedIn Hint
	// AfterPaint returns once the browser has painted the page (the
	// console passes browser.AfterPaint). Start's work and whatever calls
	// FirstPaint wait for the first page's paint, so that page shows
	// before the session check, the vault's IndexedDB scan and the syncs
	// run. Nil means no wait.
	AfterPaint func(ctx context.Context) error
}

// Hint is a yes/no value kept across reloads, such as storage.Flag.
type Hint interface {
	Get() bool
	Set(bool)
}

// VaultState is where the vault stands.
type VaultState int

// The vault states.
const (
	VaultLoading  VaultState = iota // not looked at yet
	VaultNone                       // this browser has no vault: create one
	VaultLocked                     // there is one, locked
	VaultUnlocked                   // unlocked: its keys can be used
	VaultBroken                     // the store cannot be read (see VaultError)
)

// App is the tab's shared state. It is safe for concurrent use.
type App struct {
	// API is the release server's client.
	API *client.Client

	cfg Config

	mu         sync.Mutex
	started    bool
	session    *client.Session
	checked    bool // the session was asked for at least once
	store      vault.Store
	vault      *vault.Vault
	vaultState VaultState
	vaultErr   error
	lastActive time.Time
	subs       notify.List
	admins     admins

	paintOnce sync.Once
	painted   chan struct{} // closed after the first paint
}

// New returns the state of a new tab: nobody signed in, vault not loaded.
// When the SignedIn hint says this browser has no session, the session is
// known at once (signed out, as RestoreSession would find without asking
// the server), so the first page renders its signed-out form from the
// start instead of changing shape after the check.
func New(cfg Config) *App {
	if cfg.IdleLock == 0 {
		cfg.IdleLock = DefaultIdleLock
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &App{API: cfg.API, cfg: cfg, lastActive: cfg.Now(), painted: make(chan struct{})}
	a.checked = cfg.SignedIn != nil && !cfg.SignedIn.Get()
	return a
}

// FirstPaint returns once the browser has painted the tab's first page
// (see Config.AfterPaint), or when ctx is done. Work the first page does
// not need waits for it.
func (a *App) FirstPaint(ctx context.Context) {
	a.paintOnce.Do(func() {
		go func() {
			if a.cfg.AfterPaint != nil {
				// A failed wait (no requestAnimationFrame) only loses the
				// ordering, never the work.
				_ = a.cfg.AfterPaint(context.Background())
			}
			close(a.painted)
		}()
	})
	select {
	case <-a.painted:
	case <-ctx.Done():
	}
}

// Subscribe calls fn after every change of the session or the vault's
// state, from whichever goroutine made it; fn must not block (call
// ctx.Dispatch in it). It returns the function that stops the calls.
func (a *App) Subscribe(fn func()) (unsubscribe func()) { return a.subs.Add(fn) }

func (a *App) notify() { a.subs.Notify() }

// Session returns who is signed in; ok is false when nobody is.
func (a *App) Session() (s client.Session, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.session == nil {
		return client.Session{}, false
	}
	return *a.session, true
}

// SessionChecked reports whether the server was asked who is signed in
// (RestoreSession or SignIn ran), so pages can tell "signed out" from "not
// known yet".
func (a *App) SessionChecked() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.checked
}

// Can reports whether the signed-in role may do what perm allows. Nobody
// signed in may do nothing.
func (a *App) Can(perm Permission) bool {
	s, ok := a.Session()
	return ok && AllowedAny(s.RoleSet(), perm)
}

func (a *App) setSession(s *client.Session) {
	a.mu.Lock()
	a.session, a.checked = s, true
	a.mu.Unlock()
	if a.cfg.SignedIn != nil {
		a.cfg.SignedIn.Set(s != nil)
	}
	a.notify()
}

// RestoreSession asks the server whether this browser's session cookie is
// still signed in, as after a reload.
func (a *App) RestoreSession(ctx context.Context) error {
	if a.cfg.SignedIn != nil && !a.cfg.SignedIn.Get() {
		a.setSession(nil)
		return nil
	}
	s, err := a.API.Session(ctx)
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Status == 401 {
		a.setSession(nil)
		return nil
	}
	if err != nil {
		a.mu.Lock()
		a.checked = true
		a.mu.Unlock()
		a.notify()
		return err
	}
	a.setSession(&s)
	return nil
}

// SignIn signs in with a name and password.
func (a *App) SignIn(ctx context.Context, name, password string) error {
	s, err := a.API.SignIn(ctx, name, password)
	if err != nil {
		return err
	}
	a.setSession(&s)
	return nil
}

// Enrol creates the first account with the one-time secret of the
// server's enrolment link, then signs it in. Nil roles leaves the server's
// default (administrator and engineer).
func (a *App) Enrol(ctx context.Context, token, name, password string, roles []string) error {
	if _, err := a.API.Enrol(ctx, token, name, password, roles); err != nil {
		return err
	}
	return a.SignIn(ctx, name, password)
}

// SignOut ends the session. The vault is locked too: the next person at
// this browser must know its passphrase.
func (a *App) SignOut(ctx context.Context) error {
	err := a.API.SignOut(ctx)
	a.LockVault()
	a.setSession(nil)
	return err
}

// Touch records activity, postponing the idle lock.
func (a *App) Touch() {
	a.mu.Lock()
	a.lastActive = a.cfg.Now()
	a.mu.Unlock()
}

// IdleLock returns how long the vault stays unlocked without activity
// (negative: forever).
func (a *App) IdleLock() time.Duration { return a.cfg.IdleLock }

// CheckIdle locks the vault if it has been unlocked and idle for longer
// than the idle lock; it reports whether it locked. The console calls it
// every few seconds.
func (a *App) CheckIdle() bool {
	if a.cfg.IdleLock < 0 {
		return false
	}
	a.mu.Lock()
	idle := a.cfg.Now().Sub(a.lastActive)
	unlocked := a.vaultState == VaultUnlocked
	a.mu.Unlock()
	if !unlocked || idle < a.cfg.IdleLock {
		return false
	}
	a.LockVault()
	return true
}
