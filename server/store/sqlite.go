package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"trustforge/crypto/audit"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go, no cgo)
)

// SQLite is a Store in one SQLite database file, in WAL mode with full
// synchronous commits: a change is durable once its method returns.
type SQLite struct {
	db       *sql.DB
	postgres bool // the database is PostgreSQL (see Postgres)
	obs      *observer
}

var _ Store = (*SQLite)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
	name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL,
	disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS enrolment (hash BLOB PRIMARY KEY, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
	hash BLOB PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name),
	created INTEGER NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
	id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, user TEXT NOT NULL REFERENCES users(name),
	name TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS products (name TEXT PRIMARY KEY, description TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
	product TEXT NOT NULL REFERENCES products(name), name TEXT NOT NULL, PRIMARY KEY (product, name));
CREATE TABLE IF NOT EXISTS keys (
	product TEXT NOT NULL REFERENCES products(name), fingerprint TEXT NOT NULL,
	algorithm TEXT NOT NULL, public_key BLOB NOT NULL, comment TEXT NOT NULL,
	added INTEGER NOT NULL, added_by TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (product, fingerprint));
CREATE TABLE IF NOT EXISTS releases (
	id TEXT PRIMARY KEY, product TEXT NOT NULL REFERENCES products(name), image INTEGER NOT NULL,
	version TEXT NOT NULL, counter INTEGER NOT NULL, channel TEXT NOT NULL, signer TEXT NOT NULL,
	manifest BLOB NOT NULL, manifest_json BLOB NOT NULL, prefix BLOB NOT NULL,
	payload_digest BLOB NOT NULL, payload_size INTEGER NOT NULL,
	uploaded INTEGER NOT NULL, uploaded_by TEXT NOT NULL,
	yanked INTEGER NOT NULL DEFAULT 0, yanked_by TEXT NOT NULL DEFAULT '', yank_reason TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX IF NOT EXISTS releases_version ON releases (product, image, version);
CREATE TABLE IF NOT EXISTS offers (
	release TEXT NOT NULL REFERENCES releases(id), channel TEXT NOT NULL,
	added INTEGER NOT NULL, added_by TEXT NOT NULL, PRIMARY KEY (release, channel));
CREATE INDEX IF NOT EXISTS offers_channel ON offers (channel);
CREATE TABLE IF NOT EXISTS heads (
	product TEXT NOT NULL, image INTEGER NOT NULL, channel TEXT NOT NULL,
	release TEXT NOT NULL, version TEXT NOT NULL, counter INTEGER NOT NULL,
	PRIMARY KEY (product, image, channel));
CREATE TABLE IF NOT EXISTS audit (
	seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
	subject TEXT NOT NULL, detail TEXT NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL);
`

// OpenSQLite opens (creating if needed) the database at path. The
// database file, its write-ahead log and shared-memory index are readable
// by their owner only (0600), whatever the umask and the directory's mode:
// SQLite gives the -wal and -shm files the database file's mode, so the
// file is created 0600 before SQLite opens it, and an older world-readable
// database is tightened.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db.SetMaxOpenConns(8)
	if _, err := db.ExecContext(ctx, schema+deviceSchema+deviceRootSchema+recipientSchema+productionSchema+sharedSchema+blobLeaseSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: creating schema: %w", err)
	}
	if err := migrateSQLite(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return &SQLite{db: db, obs: new(observer)}, nil
}

// sqliteMigrations change tables the schema above created in an earlier
// version; the database's user_version counts those applied. A version,
// once released, never changes; a new one is appended.
var sqliteMigrations = []string{
	// 1: a block of tickets found again by the name its station gave the
	// request.
	`
ALTER TABLE production_tickets ADD COLUMN request TEXT NOT NULL DEFAULT '';
CREATE INDEX production_tickets_request ON production_tickets (package, request);
`,
	// 2: ESP32 boards' MACs and eFuse state; such a board may be recorded
	// without a certificate, so only certificates must be unique.
	`
ALTER TABLE devices ADD COLUMN mac TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN efuses TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN efuses_updated INTEGER NOT NULL DEFAULT 0;
DROP INDEX devices_cert;
CREATE UNIQUE INDEX devices_cert ON devices (issuer, serial) WHERE serial <> '';
CREATE INDEX devices_mac ON devices (mac);
`,
	// 3: the manifest facts a product's security plan counts, kept at
	// publish so the summary decodes no manifest; filled from the stored
	// manifests.
	`
ALTER TABLE releases ADD COLUMN passphrase INTEGER NOT NULL DEFAULT 0;
CREATE TABLE release_recipients (
	product TEXT NOT NULL, recipient TEXT NOT NULL, release TEXT NOT NULL REFERENCES releases(id),
	PRIMARY KEY (product, recipient, release));
UPDATE releases SET passphrase = 1
	WHERE json_valid(CAST(manifest_json AS TEXT)) AND json_extract(CAST(manifest_json AS TEXT), '$.passphrase') = 1;
INSERT OR IGNORE INTO release_recipients (product, recipient, release)
	SELECT r.product, j.value, r.id FROM releases r, json_each(CAST(r.manifest_json AS TEXT), '$.recipients') j
	WHERE json_valid(CAST(r.manifest_json AS TEXT)) AND json_type(CAST(r.manifest_json AS TEXT), '$.recipients') = 'array'
	AND j.type = 'text';
`,
}

// migrateSQLite applies the migrations the database lacks, in one write
// transaction, so that two processes opening it at once agree.
func migrateSQLite(ctx context.Context, db *sql.DB) error {
	t, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock): the write lock first
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer t.Rollback()
	var have int
	if err := t.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if have > len(sqliteMigrations) {
		return fmt.Errorf("store: the database's schema is version %d, newer than this server's %d: upgrade the server", have, len(sqliteMigrations))
	}
	if have == len(sqliteMigrations) {
		return nil
	}
	for v := have + 1; v <= len(sqliteMigrations); v++ {
		if _, err := t.ExecContext(ctx, sqliteMigrations[v-1]); err != nil {
			return fmt.Errorf("store: schema migration %d: %w", v, err)
		}
	}
	// PRAGMA takes no placeholders; the number is this program's own.
	if _, err := t.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(sqliteMigrations))); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("store: schema migration: %w", err)
	}
	return nil
}

// ownerOnly creates the database file at path with mode 0600 if it is
// missing, and sets an existing one and its -wal and -shm files to 0600.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: %w", err)
		}
	}
	return nil
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

// tx runs fn in one write transaction and appends ev to the audit log in
// the same transaction. A zero ev (no Action) appends nothing.
func (s *SQLite) tx(ctx context.Context, ev audit.Event, fn func(*sql.Tx) error) error {
	defer s.obs.since("tx", time.Now())
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer t.Rollback()
	if s.postgres {
		// Serialise writers as SQLite's database lock does (see Postgres).
		if _, err := t.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(writeLock)); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	if err := fn(t); err != nil {
		return err
	}
	if ev.Action != "" {
		if err := appendAudit(ctx, t, ev); err != nil {
			return err
		}
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func appendAudit(ctx context.Context, t *sql.Tx, ev audit.Event) error {
	var head audit.Head
	var prev []byte
	err := t.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&head.Seq, &prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("store: audit head: %w", err)
	default:
		copy(head.Hash[:], prev)
	}
	e, err := audit.Next(head, ev)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if _, err := t.ExecContext(ctx, `INSERT INTO audit (seq, time, actor, action, subject, detail, prev, hash) VALUES (?,?,?,?,?,?,?,?)`,
		e.Seq, e.Time.UnixNano(), e.Actor, e.Action, e.Subject, string(detail), e.Prev[:], e.Hash[:]); err != nil {
		return fmt.Errorf("store: appending audit entry: %w", err)
	}
	if _, err := t.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('audit_head', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		strconv.FormatUint(e.Seq, 10)+" "+e.Hash.String()); err != nil {
		return fmt.Errorf("store: recording audit head: %w", err)
	}
	return nil
}

// Audit appends an entry that records no other change.
func (s *SQLite) Audit(ctx context.Context, ev audit.Event) error {
	if ev.Action == "" {
		return errors.New("store: audit event without an action")
	}
	return s.tx(ctx, ev, func(*sql.Tx) error { return nil })
}

// AuditHead returns the head recorded with the last appended entry.
func (s *SQLite) AuditHead(ctx context.Context) (audit.Head, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'audit_head'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Head{}, nil
	}
	if err != nil {
		return audit.Head{}, fmt.Errorf("store: %w", err)
	}
	seq, hash, ok := strings.Cut(v, " ")
	n, err1 := strconv.ParseUint(seq, 10, 64)
	h, err2 := audit.ParseHash(hash)
	if !ok || err1 != nil || err2 != nil {
		return audit.Head{}, fmt.Errorf("store: recorded audit head %q is malformed", v)
	}
	return audit.Head{Seq: n, Hash: h}, nil
}

// AuditEntries calls fn for each entry after seq, in order.
func (s *SQLite) AuditEntries(ctx context.Context, after uint64, fn func(audit.Entry) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, time, actor, action, subject, detail, prev, hash FROM audit WHERE seq > ? ORDER BY seq`, after)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e audit.Entry
		var ns int64
		var detail string
		var prev, hash []byte
		if err := rows.Scan(&e.Seq, &ns, &e.Actor, &e.Action, &e.Subject, &detail, &prev, &hash); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		e.Time = time.Unix(0, ns).UTC()
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			return fmt.Errorf("store: audit entry %d detail: %w", e.Seq, err)
		}
		copy(e.Prev[:], prev)
		copy(e.Hash[:], hash)
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// MaxTime is the latest time the store can hold: times are kept as int64
// nanoseconds since 1970, which end in April 2262. The API refuses later
// expiry times; unixNano saturates rather than wrap if one slips through.
var MaxTime = time.Unix(0, math.MaxInt64).UTC()

func unixNano(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.After(MaxTime):
		return math.MaxInt64
	case t.Before(time.Unix(0, 1)):
		return 1 // before 1970: the earliest non-zero time, never "unset"
	}
	return t.UnixNano()
}

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// isUnique reports whether err is a uniqueness violation.
func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint") || strings.Contains(err.Error(), "PRIMARY KEY") ||
		pgCode(err) == "23505")
}

// isForeignKey reports whether err is a foreign key violation.
func isForeignKey(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "FOREIGN KEY constraint") || pgCode(err) == "23503")
}

// affected returns ErrNotFound when res changed no row.
func affected(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return nil
}
