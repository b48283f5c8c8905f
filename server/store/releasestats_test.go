package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"trustforge/internal/testsvc"
)

// releaseWith is a release of sensor whose manifest is manifest.
func releaseWith(id, version string, counter uint64, manifest string) Release {
	r := rel(id, version, counter)
	r.ManifestJSON = []byte(manifest)
	return r
}

// statsReleases are releases whose facts ReleaseStats counts as
// wantStats: three recipients over four releases (one given twice in a
// manifest), one passphrase, one without a counter, one damaged manifest.
var statsReleases = []Release{
	releaseWith("r1", "1.0.0", 1, `{"recipients":["age1a","age1b"],"passphrase":false}`),
	releaseWith("r2", "1.1.0", 2, `{"recipients":["age1b","age1c","age1c"]}`),
	releaseWith("r3", "1.2.0", 0, `{"recipients":null,"passphrase":true}`),
	releaseWith("r4", "1.3.0", 3, `not json`),
}

var wantStats = ReleaseStats{Total: 4, Yanked: 1, WithCounter: 3, Passphrase: 1, Signers: 2, Uploaders: 2, Recipients: 3}

func publishStatsReleases(t *testing.T, s *SQLite) {
	t.Helper()
	ctx := context.Background()
	var head Head
	for i, r := range statsReleases {
		if i%2 == 1 {
			r.Signer, r.UploadedBy = "fp2", "frank"
		}
		if err := s.PublishRelease(ctx, r, head, ev("release.publish", r.ID)); err != nil {
			t.Fatal(err)
		}
		head = Head{Release: r.ID, Version: r.Version, SecurityCounter: r.SecurityCounter}
	}
	if err := s.Yank(ctx, "r2", t0, "eve", "broken", ev("release.yank", "r2")); err != nil {
		t.Fatal(err)
	}
}

func testReleaseStats(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	seedProduct(t, s)
	if st, err := s.ReleaseStats(ctx, "sensor"); err != nil || st != (ReleaseStats{}) {
		t.Errorf("ReleaseStats of no releases = %+v, %v; want zero", st, err)
	}
	publishStatsReleases(t, s)
	if st, err := s.ReleaseStats(ctx, "sensor"); err != nil || st != wantStats {
		t.Errorf("ReleaseStats = %+v, %v; want %+v", st, err, wantStats)
	}
	if st, err := s.ReleaseStats(ctx, "doorbell"); err != nil || st != (ReleaseStats{}) {
		t.Errorf("ReleaseStats of another product = %+v, %v; want zero", st, err)
	}
}

// oldReleases inserts statsReleases as a server before the manifest
// facts' columns stored them.
func oldReleases(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `INSERT INTO products (name, description, created) VALUES ('sensor', '', 1)`); err != nil {
		t.Fatal(err)
	}
	for i, r := range statsReleases {
		signer, by, yanked := r.Signer, r.UploadedBy, 0
		if i%2 == 1 {
			signer, by = "fp2", "frank"
		}
		if r.ID == "r2" {
			yanked = 1
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO releases (id, product, image, version, counter, channel, signer,
			manifest, manifest_json, prefix, payload_digest, payload_size, uploaded, uploaded_by, yanked)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, r.ID, r.Product, r.Image, r.Version, int64(r.SecurityCounter), r.Channel, signer,
			r.Manifest, r.ManifestJSON, r.Prefix, r.PayloadDigest[:], r.PayloadSize, 1, by, yanked); err != nil {
			t.Fatal(err)
		}
	}
}

// A database whose releases were stored before the manifest facts had
// columns gets them from the stored manifests when it opens.
func TestSQLiteMigratesReleaseStats(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, schema+deviceSchema+deviceRootSchema+recipientSchema+productionSchema+sharedSchema); err != nil {
		t.Fatal(err)
	}
	for _, m := range sqliteMigrations[:2] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `PRAGMA user_version = 2`); err != nil {
		t.Fatal(err)
	}
	oldReleases(t, db)
	db.Close()
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := s.ReleaseStats(ctx, "sensor"); err != nil || st != wantStats {
		t.Errorf("ReleaseStats after migration = %+v, %v; want %+v", st, err, wantStats)
	}
}

// The same on PostgreSQL: a database at schema version 7 gets the
// manifest facts from its stored manifests.
func TestPostgresMigratesReleaseStats(t *testing.T) {
	ctx := context.Background()
	url := testsvc.PostgresURL(t)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg), new(observer)})
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for v, m := range migrations[:7] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatalf("migration %d: %v", v+1, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, 0)`, v+1); err != nil {
			t.Fatal(err)
		}
	}
	oldReleases(t, db)
	db.Close()
	s, err := OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := s.ReleaseStats(ctx, "sensor"); err != nil || st != wantStats {
		t.Errorf("ReleaseStats after migration = %+v, %v; want %+v", st, err, wantStats)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, len(migrations))
	}
}
