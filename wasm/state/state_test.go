//go:build !(js && wasm)

package state

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"trustforge/crypto/vault"
	"trustforge/internal/apiwire"
	"trustforge/server/auth"
	"trustforge/server/store"
	"trustforge/wasm/client"
)

func TestRolesMatchTheServer(t *testing.T) {
	perms := []Permission{apiwire.PermSelf, apiwire.PermUsers, apiwire.PermProducts, apiwire.PermKeys, apiwire.PermAudit, apiwire.PermRead, apiwire.PermPublish, apiwire.PermPromote, apiwire.PermYank, apiwire.PermDownload, apiwire.PermReport, apiwire.PermDevices, apiwire.PermProvision, apiwire.PermRevoke, apiwire.PermProduction, apiwire.PermProduce}
	roles := append(append([]Role{}, apiwire.AllRoles...), "", "root")
	for _, p := range perms {
		for _, r := range roles {
			got := Allowed(r, p)
			want := auth.RoleAllowed(store.Role(r), auth.Permission(p))
			if got != want {
				t.Errorf("Allowed(%q, %s) = %v, the server says %v", r, p, got, want)
			}
		}
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestVaultLifecycle(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	a := New(Config{API: &client.Client{}, Vault: vault.Options{WorkFactor: 4}, IdleLock: time.Minute, Now: clk.now})
	var mu sync.Mutex
	notes := 0
	unsub := a.Subscribe(func() { mu.Lock(); notes++; mu.Unlock() })
	defer unsub()

	if a.VaultState() != VaultLoading {
		t.Fatalf("state %v, want loading", a.VaultState())
	}
	if err := a.LoadVault(ctx); err != nil {
		t.Fatal(err)
	}
	if a.VaultState() != VaultNone {
		t.Fatalf("state %v, want none", a.VaultState())
	}
	if err := a.CreateVault(ctx, "a long passphrase"); err != nil {
		t.Fatal(err)
	}
	if a.VaultState() != VaultUnlocked {
		t.Fatalf("state %v, want unlocked", a.VaultState())
	}
	v, err := a.UnlockedVault()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Generate(ctx, vault.Ed25519, "k"); err != nil {
		t.Fatal(err)
	}

	// Idle for less than the lock time: still unlocked.
	clk.add(30 * time.Second)
	if a.CheckIdle() {
		t.Error("locked after 30s of a 1m idle lock")
	}
	a.Touch()
	clk.add(50 * time.Second)
	if a.CheckIdle() {
		t.Error("activity did not postpone the idle lock")
	}
	clk.add(20 * time.Second)
	if !a.CheckIdle() || a.VaultState() != VaultLocked {
		t.Fatalf("not locked after 70s idle: %v", a.VaultState())
	}
	if _, err := a.UnlockedVault(); !errors.Is(err, vault.ErrLocked) {
		t.Errorf("UnlockedVault while locked: %v", err)
	}
	if err := a.UnlockVault(ctx, "the wrong passphrase"); !errors.Is(err, vault.ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	if a.VaultState() != VaultLocked {
		t.Error("a wrong passphrase unlocked the vault")
	}
	if err := a.UnlockVault(ctx, "a long passphrase"); err != nil {
		t.Fatal(err)
	}
	a.LockVault()
	if a.VaultState() != VaultLocked {
		t.Error("LockVault did not lock")
	}
	mu.Lock()
	defer mu.Unlock()
	if notes < 5 {
		t.Errorf("%d notifications, want one per change", notes)
	}
}

func TestSession(t *testing.T) {
	ctx := context.Background()
	signedIn := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "GET" && r.URL.Path == "/api/session" && !signedIn:
			w.WriteHeader(401)
			w.Write([]byte(`{"error":{"code":"unauthenticated","message":"sign in"}}`))
		case r.URL.Path == "/api/session" && r.Method != "DELETE":
			signedIn = true
			w.Write([]byte(`{"user":"erin","role":"engineer","csrf_token":"c","via":"session"}`))
		case r.Method == "DELETE":
			if r.Header.Get(client.CSRFHeader) != "c" {
				w.WriteHeader(403)
				return
			}
			signedIn = false
			w.WriteHeader(204)
		}
	}))
	defer srv.Close()
	a := New(Config{API: &client.Client{BaseURL: srv.URL}})
	if a.SessionChecked() {
		t.Error("checked before asking")
	}
	if err := a.RestoreSession(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Session(); ok || !a.SessionChecked() || a.Can(apiwire.PermRead) {
		t.Error("signed in without a session")
	}
	if err := a.SignIn(ctx, "erin", "pw"); err != nil {
		t.Fatal(err)
	}
	s, ok := a.Session()
	if !ok || s.User != "erin" || !a.Can(apiwire.PermPublish) || a.Can(apiwire.PermUsers) {
		t.Errorf("session %+v, can publish %v, can manage users %v", s, a.Can(apiwire.PermPublish), a.Can(apiwire.PermUsers))
	}
	if err := a.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Session(); ok {
		t.Error("still signed in after SignOut")
	}
}

// memMemo is a SessionMemo in memory, as localStorage keeps one across
// reloads.
type memMemo struct {
	mu sync.Mutex
	m  *Remembered
	ok bool
}

func (h *memMemo) Load() (Remembered, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.ok {
		return Remembered{}, false
	}
	if h.m == nil {
		return Remembered{}, true
	}
	return *h.m, true
}

func (h *memMemo) Save(m *Remembered) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m, h.ok = nil, m != nil
	if m != nil {
		c := *m
		h.m = &c
	}
}

// waitFor waits up to five seconds for cond.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// callCounts counts a test server's calls by method and path.
type callCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *callCounts) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// sessionServer answers the session and administrators' endpoints: the
// session with tess, a technician, or with *status when it is not 200.
func sessionServer(t *testing.T, status *int) (*httptest.Server, *callCounts) {
	calls := &callCounts{n: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.mu.Lock()
		calls.n[r.Method+" "+r.URL.Path]++
		calls.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == apiwire.GetSession.Path() && r.Method == http.MethodPost:
			w.Write([]byte(`{"user":"tess","role":"technician","csrf_token":"c","via":"session"}`))
		case r.URL.Path == apiwire.GetSession.Path() && *status != http.StatusOK:
			w.WriteHeader(*status)
			w.Write([]byte(`{"error":{"code":"unauthenticated","message":"sign in"}}`))
		case r.URL.Path == apiwire.GetSession.Path():
			w.Write([]byte(`{"user":"tess","role":"technician","csrf_token":"c","via":"session"}`))
		case r.URL.Path == apiwire.ListAdmins.Path():
			w.Write([]byte(`{"admins":["root"]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, calls
}

func TestRememberedSession(t *testing.T) {
	ctx := context.Background()
	status := http.StatusOK
	srv, calls := sessionServer(t, &status)
	sessionGets, adminGets := "GET "+apiwire.GetSession.Path(), "GET "+apiwire.ListAdmins.Path()
	memo := &memMemo{}
	a := New(Config{API: &client.Client{BaseURL: srv.URL}, Memo: memo})
	// A browser that never signed in knows it before asking anything, so its
	// first page renders signed out from the start.
	if _, ok := a.Session(); ok || !a.SessionChecked() {
		t.Errorf("new tab with nothing remembered: checked %v, want the session known (signed out)", a.SessionChecked())
	}
	// It does not ask the server.
	if err := a.RestoreSession(ctx); err != nil {
		t.Fatal(err)
	}
	if n := calls.get(sessionGets); n != 0 || !a.SessionChecked() {
		t.Errorf("%d calls, checked %v; want no call and the session known", n, a.SessionChecked())
	}
	if err := a.SignIn(ctx, "tess", "pw"); err != nil {
		t.Fatal(err)
	}
	// Signing in asks for her administrators, unasked.
	waitFor(t, func() bool { return len(a.KnownAdmins()) == 1 })
	if m, ok := memo.Load(); !ok || m.User != "tess" || len(m.Roles) != 1 || m.Roles[0] != apiwire.RoleTechnician || len(m.Admins) != 1 {
		t.Fatalf("signing in remembered %+v, %v; want tess, technician, her administrator", m, ok)
	}

	// After a reload, the new tab shows tess signed in, with her
	// administrator, before it asks the server...
	b := New(Config{API: &client.Client{BaseURL: srv.URL}, Memo: memo})
	if s, ok := b.Session(); !ok || s.User != "tess" || !b.SessionChecked() || !b.Can(apiwire.PermRead) {
		t.Errorf("reloaded tab: session %+v %v, known %v; want tess remembered", s, ok, b.SessionChecked())
	}
	if got := b.KnownAdmins(); len(got) != 1 || got[0] != "root" {
		t.Errorf("reloaded tab's administrators %v, want the remembered root", got)
	}
	// ...which confirms it, and asks once for the administrators, in case
	// they changed.
	before := calls.get(adminGets)
	var notified atomic.Int32
	b.Subscribe(func() { notified.Add(1) })
	if err := b.RestoreSession(ctx); err != nil {
		t.Fatal(err)
	}
	if s, ok := b.Session(); !ok || s.User != "tess" {
		t.Errorf("restored session %+v, %v", s, ok)
	}
	waitFor(t, func() bool { return calls.get(adminGets) > before })
	b.LoadAdmins(ctx)
	if n := calls.get(adminGets) - before; n != 1 {
		t.Errorf("reloaded tab asked for the administrators %d times, want once", n)
	}
	// Confirming what was shown changes nothing: pages are not told to
	// render and load again.
	if n := notified.Load(); n != 0 {
		t.Errorf("confirming the remembered session notified %d times, want none", n)
	}

	// Without a network, a reloaded tab keeps showing who was signed in.
	c := New(Config{API: &client.Client{BaseURL: "http://127.0.0.1:1"}, Memo: memo})
	if err := c.RestoreSession(ctx); err == nil {
		t.Error("no error without a server")
	}
	if s, ok := c.Session(); !ok || s.User != "tess" {
		t.Errorf("offline reload: session %+v, %v; want tess kept", s, ok)
	}

	// A session the server ended is forgotten.
	status = http.StatusUnauthorized
	d := New(Config{API: &client.Client{BaseURL: srv.URL}, Memo: memo})
	if err := d.RestoreSession(ctx); err != nil {
		t.Fatal(err)
	}
	if s, ok := d.Session(); ok || !d.SessionChecked() {
		t.Errorf("ended session: %+v, %v; want signed out", s, ok)
	}
	if _, ok := memo.Load(); ok {
		t.Error("an ended session is still remembered")
	}
}

// TestRememberedWithoutAccount: a browser that signed in with a console
// that kept only "signed in" asks the server before showing anyone.
func TestRememberedWithoutAccount(t *testing.T) {
	status := http.StatusOK
	srv, _ := sessionServer(t, &status)
	memo := &memMemo{ok: true}
	a := New(Config{API: &client.Client{BaseURL: srv.URL}, Memo: memo})
	if _, ok := a.Session(); ok || a.SessionChecked() {
		t.Errorf("checked %v; want the session not known yet", a.SessionChecked())
	}
	if err := a.RestoreSession(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s, ok := a.Session(); !ok || s.User != "tess" {
		t.Errorf("restored session %+v, %v", s, ok)
	}
	if m, _ := memo.Load(); m.User != "tess" {
		t.Errorf("remembered %+v after the check, want tess", m)
	}
}

// TestStartWaitsForTheFirstPaint: the vault's store is opened only after
// the page has painted, and FirstPaint waits for that paint once for the tab.
func TestStartWaitsForTheFirstPaint(t *testing.T) {
	paint := make(chan struct{})
	painted := 0
	opened := make(chan struct{})
	a := New(Config{
		API: &client.Client{},
		AfterPaint: func(ctx context.Context) error {
			painted++
			<-paint
			return nil
		},
		OpenStore: func(ctx context.Context) (vault.Store, error) {
			close(opened)
			return nil, errors.New("no store in this test")
		},
		Memo: &memMemo{},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	// A caller whose context ends stops waiting.
	done, stop := context.WithCancel(context.Background())
	stop()
	a.FirstPaint(done)
	select {
	case <-opened:
		t.Fatal("the vault's store was opened before the first paint")
	default:
	}
	close(paint)
	<-opened
	a.FirstPaint(context.Background())
	a.FirstPaint(context.Background())
	if painted != 1 {
		t.Errorf("AfterPaint called %d times, want once", painted)
	}
}

// TestEnrolSignsInWithRoleSet enrols against a server that answers with a
// set of roles: the tab may then do what either role may.
func TestEnrolSignsInWithRoleSet(t *testing.T) {
	var enrolled map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/enrol":
			if err := json.NewDecoder(r.Body).Decode(&enrolled); err != nil {
				t.Error(err)
			}
			w.WriteHeader(201)
			w.Write([]byte(`{"name":"ada","roles":["admin","engineer"],"role":"admin,engineer"}`))
		case "/api/session":
			w.Write([]byte(`{"user":"ada","roles":["admin","engineer"],"role":"admin,engineer","csrf_token":"c","via":"session"}`))
		}
	}))
	defer srv.Close()
	a := New(Config{API: &client.Client{BaseURL: srv.URL}})
	if err := a.Enrol(context.Background(), "tfe_x", "ada", "a long password", nil); err != nil {
		t.Fatal(err)
	}
	if enrolled["token"] != "tfe_x" || enrolled["name"] != "ada" || enrolled["roles"] != nil {
		t.Errorf("enrol request %v", enrolled)
	}
	s, ok := a.Session()
	if !ok || !s.Has("admin") || !s.Has("engineer") || s.Has("station") {
		t.Fatalf("session %+v", s)
	}
	for _, p := range []Permission{apiwire.PermUsers, apiwire.PermProducts, apiwire.PermPublish, apiwire.PermKeys, apiwire.PermDownload} {
		if !a.Can(p) {
			t.Errorf("admin+engineer cannot %s", p)
		}
	}
	if a.Can(apiwire.PermProduce) {
		t.Error("admin+engineer may produce")
	}
	// An older server sends one comma-joined field.
	old := client.Session{Role: "admin,engineer"}
	if !old.Has("engineer") || len(old.RoleSet()) != 2 {
		t.Errorf("RoleSet of %q = %v", old.Role, old.RoleSet())
	}
}

// TestRememberedSteps: the getting-started steps an account had done are
// remembered for it, across reloads, and for nobody else.
func TestRememberedSteps(t *testing.T) {
	status := http.StatusOK
	srv, _ := sessionServer(t, &status)
	memo := &memMemo{}
	a := New(Config{API: &client.Client{BaseURL: srv.URL}, Memo: memo})
	if _, ok := a.RememberedSteps(); ok {
		t.Error("steps remembered before anyone signed in")
	}
	if err := a.SignIn(context.Background(), "tess", "pw"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.RememberedSteps(); ok {
		t.Error("steps remembered before the home page showed any")
	}
	a.RememberSteps("erin", []string{"vault"})
	if _, ok := a.RememberedSteps(); ok {
		t.Error("another account's steps were kept for tess")
	}
	a.RememberSteps("tess", nil)
	if done, ok := a.RememberedSteps(); !ok || len(done) != 0 {
		t.Errorf("none done: %v, %v; want remembered, empty", done, ok)
	}
	a.RememberSteps("tess", []string{"vault", "own-recipient"})
	b := New(Config{API: &client.Client{BaseURL: srv.URL}, Memo: memo})
	if done, ok := b.RememberedSteps(); !ok || !slices.Equal(done, []string{"vault", "own-recipient"}) {
		t.Errorf("after a reload: %v, %v", done, ok)
	}
}
