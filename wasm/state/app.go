package state

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"trustforge/crypto/vault"
	"trustforge/internal/apiwire"
	"trustforge/internal/notify"
	"trustforge/wasm/client"
	"trustforge/wasm/storage"
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
	// Memo remembers across reloads who was last signed in in this
	// browser. A tab that never signed in then does not ask the server
	// (whose "no", a 401, the browser logs as a failed request), and one
	// that did shows its pages signed in from their first render, while
	// RestoreSession asks the server, instead of changing shape when the
	// answer comes. Nil means always ask.
	Memo SessionMemo
	// AfterPaint returns once the browser has painted the page (the
	// console passes browser.AfterPaint). Start's work and whatever calls
	// FirstPaint wait for the first page's paint, so that page shows
	// before the session check, the vault's IndexedDB scan and the syncs
	// run. Nil means no wait.
	AfterPaint func(ctx context.Context) error
}

// SessionMemo keeps a Remembered session across reloads (in the browser,
// storage.Memo).
type SessionMemo interface {
	// Load returns what was saved last; ok is false when this browser has
	// no session, or never saved one.
	Load() (m Remembered, ok bool)
	// Save replaces what is kept; nil: nobody is signed in.
	Save(m *Remembered)
}

// Remembered is what a SessionMemo keeps of a session (see
// storage.Remembered).
type Remembered = storage.Remembered

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
	remembered bool // session comes from Config.Memo, not asked for yet
	store      vault.Store
	vault      *vault.Vault
	vaultState VaultState
	vaultErr   error
	lastActive time.Time
	subs       notify.List
	admins     admins
	steps      steps

	paintOnce sync.Once
	painted   chan struct{} // closed after the first paint
}

// New returns the state of a new tab, vault not loaded. When the Memo
// remembers a session, the tab starts with it, and RestoreSession later
// confirms or ends it; when the Memo says this browser has no session, the
// session is known at once (signed out, as RestoreSession would find
// without asking the server). Either way the first page renders in the
// form it keeps instead of changing shape after the check.
func New(cfg Config) *App {
	if cfg.IdleLock == 0 {
		cfg.IdleLock = DefaultIdleLock
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &App{API: cfg.API, cfg: cfg, lastActive: cfg.Now(), painted: make(chan struct{})}
	if cfg.Memo != nil {
		m, ok := cfg.Memo.Load()
		switch {
		case !ok:
			a.checked = true
		case m.User != "":
			a.session = &client.Session{User: m.User, Roles: m.Roles}
			a.remembered = true
			if m.Admins != nil {
				a.admins = admins{user: m.User, names: m.Admins}
			}
			if m.Done != nil {
				a.steps = steps{user: m.User, done: m.Done}
			}
			if a.API != nil {
				a.API.ExpectSession()
			}
		}
	}
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

// SessionChecked reports whether the tab knows who is signed in: the
// server was asked (RestoreSession or SignIn ran), or the session was
// remembered from an earlier visit (which RestoreSession then confirms or
// ends), so pages can tell "signed out" from "not known yet".
func (a *App) SessionChecked() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.checked || a.remembered
}

// Can reports whether the signed-in role may do what perm allows. Nobody
// signed in may do nothing.
func (a *App) Can(perm Permission) bool {
	s, ok := a.Session()
	return ok && AllowedAny(s.RoleSet(), perm)
}

func (a *App) setSession(s *client.Session) {
	a.mu.Lock()
	// The server confirming the remembered session changes nothing shown:
	// pages are not asked to render, and reload, again.
	same := a.remembered && s != nil && a.session != nil && a.session.User == s.User &&
		slices.Equal(a.session.RoleSet(), s.RoleSet())
	a.session, a.checked, a.remembered = s, true, false
	m := a.memoLocked()
	a.mu.Unlock()
	if a.cfg.Memo != nil {
		a.cfg.Memo.Save(m)
	}
	if !same {
		a.notify()
	}
}

// memoLocked returns what the Memo keeps of the session: nil for nobody.
func (a *App) memoLocked() *Remembered {
	if a.session == nil {
		return nil
	}
	m := &Remembered{User: a.session.User, Roles: a.session.RoleSet()}
	if a.admins.user == a.session.User {
		m.Admins = a.admins.names
	}
	if a.steps.user == a.session.User {
		m.Done = a.steps.done
	}
	return m
}

// steps is what RememberSteps keeps.
type steps struct {
	user string
	done []string
}

// RememberedSteps returns the IDs of the getting-started steps the
// signed-in account had done when the home page last showed them in this
// browser, so that its checklist shows them from its first render while
// it asks the server again; ok is false when it never showed them.
func (a *App) RememberedSteps() (done []string, ok bool) {
	s, signedIn := a.Session()
	a.mu.Lock()
	defer a.mu.Unlock()
	if !signedIn || a.steps.user != s.User || a.steps.done == nil {
		return nil, false
	}
	return slices.Clone(a.steps.done), true
}

// RememberSteps keeps the IDs of the getting-started steps user has done
// (see RememberedSteps), if user is still the one signed in.
func (a *App) RememberSteps(user string, done []string) {
	s, ok := a.Session()
	if !ok || s.User != user {
		return
	}
	if done == nil {
		done = []string{}
	}
	a.mu.Lock()
	a.steps = steps{user: s.User, done: slices.Clone(done)}
	m := a.memoLocked()
	a.mu.Unlock()
	if a.cfg.Memo != nil && m != nil {
		a.cfg.Memo.Save(m)
	}
}

// RestoreSession asks the server whether this browser's session cookie is
// still signed in, as after a reload. When the server cannot be reached, a
// remembered session stays (the console goes on showing who was signed
// in, as it works offline) and the error is returned.
func (a *App) RestoreSession(ctx context.Context) error {
	if a.cfg.Memo != nil {
		if _, ok := a.cfg.Memo.Load(); !ok {
			a.setSession(nil)
			return nil
		}
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
	a.askAdmins(s)
	return nil
}

// SignIn signs in with a name and password.
func (a *App) SignIn(ctx context.Context, name, password string) error {
	s, err := a.API.SignIn(ctx, name, password)
	if err != nil {
		return err
	}
	a.setSession(&s)
	a.askAdmins(s)
	return nil
}

// askAdmins starts LoadAdmins for an account that is not an administrator
// itself, as soon as it is signed in: the pages' notes name whom to ask,
// and with the names remembered (Config.Memo) they show them from their
// first render after a reload instead of changing wording, and height,
// when the names arrive.
func (a *App) askAdmins(s client.Session) {
	if !s.Has(apiwire.RoleAdmin) {
		go a.LoadAdmins(context.Background())
	}
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
