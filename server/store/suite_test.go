package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"trustforge/internal/testsvc"
)

func TestMain(m *testing.M) { testsvc.Main(m) }

// opener opens an empty store of the back end under test.
type opener func(t *testing.T) *SQLite

// pairOpener opens two handles on one empty database, as two server
// instances would.
type pairOpener func(t *testing.T) (*SQLite, *SQLite)

// suite is every storage test; each back end runs all of them.
var suite = []struct {
	name string
	fn   func(*testing.T, opener)
}{
	{"EnrolIsOneTime", testEnrolIsOneTime},
	{"UsersSessionsTokens", testUsersSessionsTokens},
	{"PublishPromoteYank", testPublishPromoteYank},
	{"ReleaseStats", testReleaseStats},
	{"AuditChainAndTampering", testAuditChainAndTampering},
	{"FailedChangeLeavesNoAuditEntry", testFailedChangeLeavesNoAuditEntry},
	{"DeviceRegistry", testDeviceRegistry},
	{"ESP32Registry", testESP32Registry},
	{"TicketsAreCounted", testTicketsAreCounted},
	{"TicketValidityAndUse", testTicketValidityAndUse},
	{"DeviceTicketIssuedOnce", testDeviceTicketIssuedOnce},
	{"BlockRequestIssuedOnce", testBlockRequestIssuedOnce},
	{"BlobRefs", testBlobRefs},
	{"Recipients", testRecipients},
	{"RateBuckets", testRateBuckets},
	{"Secrets", testSecrets},
	{"PasswordChangeEndsSessions", testPasswordChangeEndsSessionsInStore},
	{"RecipientIsOneAccounts", testRecipientIsOneAccounts},
	{"TimesSaturate", testTimesSaturate},
}

// pairSuite is every test of two instances sharing one database.
var pairSuite = []struct {
	name string
	fn   func(*testing.T, pairOpener)
}{
	{"TicketsCountedAcrossInstances", testTicketsAcrossInstances},
}

func runSuite(t *testing.T, open opener, pair pairOpener) {
	for _, tt := range suite {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
	for _, tt := range pairSuite {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, pair) })
	}
}

func TestSQLite(t *testing.T) {
	runSuite(t, openSQLiteTest, func(t *testing.T) (*SQLite, *SQLite) {
		path := filepath.Join(t.TempDir(), "trustforge.db")
		var ss [2]*SQLite
		for i := range ss {
			s, err := OpenSQLite(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			ss[i] = s
		}
		return ss[0], ss[1]
	})
}

func openPostgresURL(t *testing.T, url string) *SQLite {
	t.Helper()
	s, err := OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.SQLite
}

func TestPostgres(t *testing.T) {
	runSuite(t, func(t *testing.T) *SQLite {
		return openPostgresURL(t, testsvc.PostgresURL(t))
	}, func(t *testing.T) (*SQLite, *SQLite) {
		url := testsvc.PostgresURL(t)
		return openPostgresURL(t, url), openPostgresURL(t, url)
	})
}

// Opening a migrated database again applies nothing, and two instances
// starting at once agree on the schema.
func TestPostgresMigrations(t *testing.T) {
	ctx := context.Background()
	url := testsvc.PostgresURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := OpenPostgres(ctx, url)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
	s, err := OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, len(migrations))
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
		t.Errorf("%d migrations recorded (%v), want %d", n, err, len(migrations))
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, 0)`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPostgres(ctx, url); err == nil {
		t.Error("opening a database whose schema is newer than the server's succeeded")
	}
}

func TestPostgresBadURL(t *testing.T) {
	if _, err := OpenPostgres(context.Background(), "postgres://nobody@/x?host=/nonexistent&connect_timeout=2"); err == nil {
		t.Error("opening an unreachable database succeeded")
	}
}

// Stations on two instances racing for one package's last tickets take
// exactly the count, numbered without gaps, every one audited in one
// verifiable chain.
func testTicketsAcrossInstances(t *testing.T, pair pairOpener) {
	ctx := context.Background()
	a, b := pair(t)
	if err := a.CreateProduct(ctx, Product{Name: "thermo", Channels: []string{"stable"}, Created: t0}, ev("product.create", "thermo")); err != nil {
		t.Fatal(err)
	}
	p := ProductionPackage{ID: "pkg1", Product: "thermo", Batch: "b1", Count: 30, NotBefore: t0, Expires: t0.Add(24 * time.Hour),
		Release: "rel", Version: "1.0.0", ImageMode: "device", Signer: "fp", CAKeyID: "ca1", Manifest: []byte{1},
		ManifestJSON: []byte("{}"), Prefix: []byte{2}, PayloadDigest: [32]byte{9}, PayloadSize: 10, Uploaded: t0, UploadedBy: "erin"}
	if err := b.AddPackage(ctx, p, ev("production.publish", p.ID)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range 40 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := issue(s, p.ID, 1, t0.Add(time.Hour), fmt.Sprintf("d%02d", i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrCountReached):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 30 || refused != 10 {
		t.Errorf("40 requests for 30 tickets on two instances: %d issued, %d refused", ok, refused)
	}
	all, _ := b.ListTickets(ctx, p.ID)
	if len(all) != 30 {
		t.Errorf("%d tickets stored, want 30", len(all))
	}
	for i, tk := range all {
		if tk.Seq != i+1 {
			t.Errorf("ticket %d has sequence %d", i, tk.Seq)
		}
	}
	head, err := VerifyAudit(ctx, a)
	if err != nil {
		t.Fatalf("audit chain after the race: %v", err)
	}
	if want := uint64(2 + 30 + 10); head.Seq != want {
		t.Errorf("audit head %d, want %d entries", head.Seq, want)
	}
}

func testRateBuckets(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	for i := range 3 {
		if ok, _, err := s.TakeAttempt(ctx, "user:eve", 3, time.Minute, t0); err != nil || !ok {
			t.Fatalf("attempt %d = %v, %v; want allowed", i+1, ok, err)
		}
	}
	ok, wait, err := s.TakeAttempt(ctx, "user:eve", 3, time.Minute, t0)
	if err != nil || ok || wait != time.Minute {
		t.Errorf("4th attempt = %v, wait %v, %v; want refused for 1m", ok, wait, err)
	}
	if ok, _, _ := s.TakeAttempt(ctx, "user:bob", 3, time.Minute, t0); !ok {
		t.Error("another key's bucket was empty")
	}
	if ok, _, _ := s.TakeAttempt(ctx, "user:eve", 3, time.Minute, t0.Add(30*time.Second)); ok {
		t.Error("allowed after half a refill")
	}
	if ok, _, _ := s.TakeAttempt(ctx, "user:eve", 3, time.Minute, t0.Add(61*time.Second)); !ok {
		t.Error("refused after a refill")
	}
}

func testSecrets(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.Secret(ctx, "ticket-key"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Secret before Put = %v, want ErrNotFound", err)
	}
	got, err := s.PutSecret(ctx, "ticket-key", []byte("first"), t0)
	if err != nil || string(got) != "first" {
		t.Fatalf("PutSecret = %q, %v", got, err)
	}
	if got, err := s.PutSecret(ctx, "ticket-key", []byte("second"), t0); err != nil || string(got) != "first" {
		t.Errorf("second PutSecret = %q, %v; want the first value kept", got, err)
	}
	if got, err := s.Secret(ctx, "ticket-key"); err != nil || string(got) != "first" {
		t.Errorf("Secret = %q, %v", got, err)
	}
}

func TestPgQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{`SELECT user, users.name FROM sessions WHERE user = ?`, `SELECT "user", users.name FROM sessions WHERE "user" = $1`},
		{`SELECT '?', 'it''s ? user' FROM t WHERE x LIKE ? ESCAPE '\'`, `SELECT '?', 'it''s ? user' FROM t WHERE x ILIKE $1 ESCAPE '\'`},
		{`SELECT "user", username, user_id FROM t`, `SELECT "user", username, user_id FROM t`},
		{`ON CONFLICT (user) DO UPDATE SET v = excluded.v`, `ON CONFLICT ("user") DO UPDATE SET v = excluded.v`},
	}
	for _, tt := range tests {
		if got := pgQuery(tt.in); got != tt.want {
			t.Errorf("pgQuery(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
