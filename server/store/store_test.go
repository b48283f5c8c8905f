package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"trustforge/crypto/audit"
)

var t0 = time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)

func openSQLiteTest(t *testing.T) *SQLite {
	t.Helper()
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "trustforge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ev(action, subject string) audit.Event {
	return audit.Event{Time: t0, Actor: "tester", Action: action, Subject: subject}
}

func testEnrolIsOneTime(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	secret := []byte("hash-of-secret")
	if err := s.SetEnrolment(ctx, secret, t0.Add(time.Hour), ev("enrolment.issue", "")); err != nil {
		t.Fatal(err)
	}
	admin := User{Name: "root", Roles: Roles{RoleAdmin}, PasswordHash: "x", Created: t0}
	if err := s.Enrol(ctx, secret, t0.Add(2*time.Hour), admin, ev("user.enrol", "root")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Enrol after expiry = %v, want ErrNotFound", err)
	}
	if err := s.Enrol(ctx, secret, t0, admin, ev("user.enrol", "root")); err != nil {
		t.Fatalf("Enrol = %v", err)
	}
	if err := s.Enrol(ctx, secret, t0, User{Name: "other", Roles: Roles{RoleAdmin}}, ev("user.enrol", "other")); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Enrol = %v, want ErrNotFound", err)
	}
	if n, _ := s.CountUsers(ctx); n != 1 {
		t.Errorf("CountUsers = %d, want 1", n)
	}
}

func testUsersSessionsTokens(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	u := User{Name: "eve", Roles: Roles{RoleEngineer}, PasswordHash: "h", Created: t0}
	if err := s.CreateUser(ctx, u, ev("user.create", "eve")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, u, ev("user.create", "eve")); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate CreateUser = %v, want ErrExists", err)
	}
	ss := Session{Hash: []byte("s1"), User: "eve", Created: t0, Expires: t0.Add(time.Hour)}
	if err := s.CreateSession(ctx, ss, ev("session.create", "eve")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, []byte("s1")); err != nil || got.User != "eve" || !got.Expires.Equal(ss.Expires) {
		t.Errorf("Session = %+v, %v", got, err)
	}
	tk := Token{ID: "tk1", Hash: []byte("th"), User: "eve", Name: "ci", Created: t0}
	if err := s.CreateToken(ctx, tk, ev("token.create", "tk1")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, Token{ID: "tk2", Hash: []byte("x"), User: "nobody"}, ev("token.create", "tk2")); !errors.Is(err, ErrNotFound) {
		t.Errorf("CreateToken(unknown user) = %v, want ErrNotFound", err)
	}
	if got, err := s.TokenByHash(ctx, []byte("th")); err != nil || got.ID != "tk1" || !got.Expires.IsZero() {
		t.Errorf("TokenByHash = %+v, %v", got, err)
	}
	u.Disabled = true
	if err := s.UpdateUser(ctx, u, ev("user.update", "eve")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, []byte("s1")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Session after disable = %v, want ErrNotFound", err)
	}
	if err := s.DeleteToken(ctx, "tk1", ev("token.delete", "tk1")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, "tk1", ev("token.delete", "tk1")); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteToken = %v, want ErrNotFound", err)
	}
}

func seedProduct(t *testing.T, s *SQLite) {
	t.Helper()
	ctx := context.Background()
	if err := s.CreateProduct(ctx, Product{Name: "sensor", Channels: []string{"beta", "stable"}, Created: t0}, ev("product.create", "sensor")); err != nil {
		t.Fatal(err)
	}
}

func rel(id, version string, counter uint64) Release {
	return Release{ID: id, Product: "sensor", Version: version, SecurityCounter: counter, Channel: "beta",
		Signer: "fp", Manifest: []byte("m"), ManifestJSON: []byte("{}"), Prefix: []byte("p"), PayloadSize: 1,
		Uploaded: t0, UploadedBy: "eve"}
}

func testPublishPromoteYank(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	seedProduct(t, s)

	if err := s.PublishRelease(ctx, rel("r1", "1.0.0", 1), Head{}, ev("release.publish", "r1")); err != nil {
		t.Fatal(err)
	}
	h, _ := s.ChannelHead(ctx, "sensor", 0, "beta")
	if want := (Head{Release: "r1", Version: "1.0.0", SecurityCounter: 1}); h != want {
		t.Errorf("head = %+v, want %+v", h, want)
	}
	if err := s.PublishRelease(ctx, rel("r2", "1.1.0", 1), Head{}, ev("release.publish", "r2")); !errors.Is(err, ErrConflict) {
		t.Errorf("publish against stale head = %v, want ErrConflict", err)
	}
	bad := rel("r3", "1.2.0", 1)
	bad.Channel = "nightly"
	if err := s.PublishRelease(ctx, bad, Head{}, ev("release.publish", "r3")); !errors.Is(err, ErrNotFound) {
		t.Errorf("publish to unknown channel = %v, want ErrNotFound", err)
	}
	if err := s.PublishRelease(ctx, rel("r4", "1.0.0", 1), h, ev("release.publish", "r4")); !errors.Is(err, ErrExists) {
		t.Errorf("publish same version = %v, want ErrExists", err)
	}

	if err := s.Promote(ctx, "r1", Offer{Channel: "stable", Added: t0, AddedBy: "eve"}, Head{}, ev("release.promote", "r1")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ListReleases(ctx, Filter{Channel: "stable"}); len(got) != 1 || len(got[0].Offers) != 2 {
		t.Errorf("stable releases = %+v", got)
	}
	if err := s.Yank(ctx, "r1", t0, "eve", "bricks boards", ev("release.yank", "r1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Yank(ctx, "r1", t0, "eve", "", ev("release.yank", "r1")); !errors.Is(err, ErrConflict) {
		t.Errorf("second Yank = %v, want ErrConflict", err)
	}
	if got, _ := s.ListReleases(ctx, Filter{Product: "sensor"}); len(got) != 0 {
		t.Errorf("listed yanked release: %+v", got)
	}
	got, _ := s.ListReleases(ctx, Filter{Product: "sensor", WithYank: true})
	if len(got) != 1 || !got[0].IsYanked() || got[0].YankReason != "bricks boards" {
		t.Errorf("ListReleases(WithYank) = %+v", got)
	}
	// The head stays at the yanked release: versions are never reused.
	if h2, _ := s.ChannelHead(ctx, "sensor", 0, "beta"); h2 != h {
		t.Errorf("head after yank = %+v, want %+v", h2, h)
	}
}

func testAuditChainAndTampering(t *testing.T, openTest opener) {
	ctx := context.Background()
	tests := []struct {
		name string
		sql  string
	}{
		{"edit", `UPDATE audit SET actor = 'mallory' WHERE seq = 2`},
		{"remove middle", `DELETE FROM audit WHERE seq = 2`},
		{"remove tail", `DELETE FROM audit WHERE seq = 3`},
		{"reorder", `UPDATE audit SET seq = 100 WHERE seq = 1; UPDATE audit SET seq = 1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 100`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			seedProduct(t, s)
			s.AddChannel(ctx, "sensor", "nightly", ev("channel.add", "nightly"))
			s.Audit(ctx, ev("note", "x"))
			head, err := VerifyAudit(ctx, s)
			if err != nil || head.Seq != 3 {
				t.Fatalf("VerifyAudit(intact) = %+v, %v", head, err)
			}
			if _, err := s.db.ExecContext(ctx, tt.sql); err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyAudit(ctx, s); !errors.Is(err, audit.ErrBroken) {
				t.Errorf("VerifyAudit after %s = %v, want ErrBroken", tt.name, err)
			}
		})
	}
}

func testFailedChangeLeavesNoAuditEntry(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	seedProduct(t, s)
	if err := s.CreateProduct(ctx, Product{Name: "sensor"}, ev("product.create", "sensor")); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate product = %v", err)
	}
	if h, _ := VerifyAudit(ctx, s); h.Seq != 1 {
		t.Errorf("audit head = %d, want 1 (failed change must not be logged)", h.Seq)
	}
}
