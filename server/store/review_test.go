package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Finding 8: the database and its -wal and -shm files were created 0644,
// world-readable in a 0755 data directory.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "trustforge.db")
	check := func(when string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s: %s has mode %v, want 0600", when, filepath.Base(p), m)
			}
		}
	}
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(context.Background(), User{Name: "a", Roles: Roles{RoleAdmin}, Created: t0}, ev("user.create", "a")); err != nil {
		t.Fatal(err)
	}
	check("a new database")
	s.Close()

	// A database an older version left world-readable is tightened.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		os.Chmod(p, 0o644)
	}
	s, err = OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.User(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	check("an older database")
}

// Finding 6, in the store: whoever changes or removes a password through
// UpdateUser ends the account's sessions.
func testPasswordChangeEndsSessionsInStore(t *testing.T, openTest opener) {
	ctx := context.Background()
	for _, next := range []string{"new-hash", ""} {
		s := openTest(t)
		u := User{Name: "tech", Roles: Roles{RoleTechnician}, PasswordHash: "old-hash", Created: t0}
		if err := s.CreateUser(ctx, u, ev("user.create", "tech")); err != nil {
			t.Fatal(err)
		}
		ss := Session{Hash: []byte("session"), User: "tech", Created: t0, Expires: t0.Add(time.Hour)}
		if err := s.CreateSession(ctx, ss, ev("session.create", "tech")); err != nil {
			t.Fatal(err)
		}
		u.Roles = Roles{RoleEngineer}
		if err := s.UpdateUser(ctx, u, ev("user.update", "tech")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, ss.Hash); err != nil {
			t.Errorf("a role change ended the session: %v", err)
		}
		u.PasswordHash = next
		if err := s.UpdateUser(ctx, u, ev("user.update", "tech")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, ss.Hash); !errors.Is(err, ErrNotFound) {
			t.Errorf("password changed to %q: the session is still there (%v)", next, err)
		}
	}
}

// Finding 2, in the store: a recipient names one account.
func testRecipientIsOneAccounts(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	for _, n := range []string{"st1", "st2"} {
		if err := s.CreateUser(ctx, User{Name: n, Roles: Roles{RoleStation}, Created: t0}, ev("user.create", n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetRecipient(ctx, Recipient{User: "st1", Recipient: "age1same", Updated: t0}, ev("recipient.set", "st1")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRecipient(ctx, Recipient{User: "st1", Recipient: "age1same", Updated: t0}, ev("recipient.set", "st1")); err != nil {
		t.Errorf("publishing one's own recipient again: %v", err)
	}
	if err := s.SetRecipient(ctx, Recipient{User: "st2", Recipient: "age1same", Updated: t0}, ev("recipient.set", "st2")); !errors.Is(err, ErrExists) {
		t.Errorf("publishing another account's recipient: %v, want ErrExists", err)
	}
}

// Finding 7, in the store: a time past 2262 saturates instead of wrapping.
func testTimesSaturate(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	if err := s.CreateUser(ctx, User{Name: "a", Roles: Roles{RoleAdmin}, Created: t0}, ev("user.create", "a")); err != nil {
		t.Fatal(err)
	}
	for _, exp := range []time.Time{time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2554, 7, 21, 23, 34, 33, 709551616, time.UTC)} {
		tk := Token{ID: exp.Format("2006"), Hash: []byte(exp.String()), User: "a", Name: "far", Created: t0, Expires: exp}
		if err := s.CreateToken(ctx, tk, ev("token.create", tk.ID)); err != nil {
			t.Fatal(err)
		}
		got, err := s.Token(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Expires.Equal(MaxTime) {
			t.Errorf("expiry %v stored as %v, want the store's latest time %v", exp, got.Expires, MaxTime)
		}
	}
}
