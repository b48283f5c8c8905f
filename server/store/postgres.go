package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Postgres is a Store in a PostgreSQL database, shared by any number of
// server instances.
//
// It runs the same queries as SQLite, so both stores have one set of
// semantics: the connection translates them to PostgreSQL's dialect
// (numbered placeholders, the reserved word user quoted, LIKE as SQLite's
// case-insensitive match). Where SQLite serialises writers with its
// database lock, every write transaction here first takes one
// transaction-scoped advisory lock: changes, and with them the audit log's
// appends, are serialised in the database, so one hash chain runs across
// every instance and each check a change makes (a channel's head, a
// package's issued count) still holds when it commits.
type Postgres struct {
	*SQLite
}

var _ Store = (*Postgres)(nil)

// writeLock is the advisory lock key every write transaction takes
// ("trustfrg" in ASCII).
const writeLock = 0x7472757374667267

// migrations are the PostgreSQL schema's versions, in order. A version,
// once released, never changes; a new one is appended.
var migrations = []string{
	// 1: the schema of SQLite's store, with PostgreSQL's types; text
	// compares bytewise, as in SQLite, whatever the database's locale.
	`
CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT COLLATE "C" NOT NULL);
CREATE TABLE users (
	name TEXT COLLATE "C" PRIMARY KEY, role TEXT COLLATE "C" NOT NULL, password TEXT COLLATE "C" NOT NULL,
	disabled BOOLEAN NOT NULL DEFAULT false, created BIGINT NOT NULL);
CREATE TABLE enrolment (hash BYTEA PRIMARY KEY, expires BIGINT NOT NULL);
CREATE TABLE sessions (
	hash BYTEA PRIMARY KEY, "user" TEXT COLLATE "C" NOT NULL REFERENCES users(name),
	created BIGINT NOT NULL, expires BIGINT NOT NULL);
CREATE INDEX sessions_expires ON sessions (expires);
CREATE TABLE tokens (
	id TEXT COLLATE "C" PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, "user" TEXT COLLATE "C" NOT NULL REFERENCES users(name),
	name TEXT COLLATE "C" NOT NULL, created BIGINT NOT NULL, expires BIGINT NOT NULL);
CREATE TABLE products (name TEXT COLLATE "C" PRIMARY KEY, description TEXT COLLATE "C" NOT NULL, created BIGINT NOT NULL);
CREATE TABLE channels (
	product TEXT COLLATE "C" NOT NULL REFERENCES products(name), name TEXT COLLATE "C" NOT NULL, PRIMARY KEY (product, name));
CREATE TABLE keys (
	product TEXT COLLATE "C" NOT NULL REFERENCES products(name), fingerprint TEXT COLLATE "C" NOT NULL,
	algorithm TEXT COLLATE "C" NOT NULL, public_key BYTEA NOT NULL, comment TEXT COLLATE "C" NOT NULL,
	added BIGINT NOT NULL, added_by TEXT COLLATE "C" NOT NULL, revoked BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (product, fingerprint));
CREATE TABLE releases (
	id TEXT COLLATE "C" PRIMARY KEY, product TEXT COLLATE "C" NOT NULL REFERENCES products(name), image BIGINT NOT NULL,
	version TEXT COLLATE "C" NOT NULL, counter BIGINT NOT NULL, channel TEXT COLLATE "C" NOT NULL, signer TEXT COLLATE "C" NOT NULL,
	manifest BYTEA NOT NULL, manifest_json BYTEA NOT NULL, prefix BYTEA NOT NULL,
	payload_digest BYTEA NOT NULL, payload_size BIGINT NOT NULL,
	uploaded BIGINT NOT NULL, uploaded_by TEXT COLLATE "C" NOT NULL,
	yanked BIGINT NOT NULL DEFAULT 0, yanked_by TEXT COLLATE "C" NOT NULL DEFAULT '', yank_reason TEXT COLLATE "C" NOT NULL DEFAULT '');
CREATE UNIQUE INDEX releases_version ON releases (product, image, version);
CREATE TABLE offers (
	release TEXT COLLATE "C" NOT NULL REFERENCES releases(id), channel TEXT COLLATE "C" NOT NULL,
	added BIGINT NOT NULL, added_by TEXT COLLATE "C" NOT NULL, PRIMARY KEY (release, channel));
CREATE INDEX offers_channel ON offers (channel);
CREATE TABLE heads (
	product TEXT COLLATE "C" NOT NULL, image BIGINT NOT NULL, channel TEXT COLLATE "C" NOT NULL,
	release TEXT COLLATE "C" NOT NULL, version TEXT COLLATE "C" NOT NULL, counter BIGINT NOT NULL,
	PRIMARY KEY (product, image, channel));
CREATE TABLE audit (
	seq BIGINT PRIMARY KEY, time BIGINT NOT NULL, actor TEXT COLLATE "C" NOT NULL, action TEXT COLLATE "C" NOT NULL,
	subject TEXT COLLATE "C" NOT NULL, detail TEXT COLLATE "C" NOT NULL, prev BYTEA NOT NULL, hash BYTEA NOT NULL);
CREATE INDEX audit_action ON audit (action);
CREATE TABLE devices (
	id TEXT COLLATE "C" PRIMARY KEY, product TEXT COLLATE "C" NOT NULL REFERENCES products(name),
	model TEXT COLLATE "C" NOT NULL, rev TEXT COLLATE "C" NOT NULL, serial TEXT COLLATE "C" NOT NULL, issuer TEXT COLLATE "C" NOT NULL,
	subject TEXT COLLATE "C" NOT NULL, chain BYTEA NOT NULL, root TEXT COLLATE "C" NOT NULL,
	enc_key BYTEA NOT NULL, enc_fingerprint TEXT COLLATE "C" NOT NULL, boot_key_hash TEXT COLLATE "C" NOT NULL,
	provisioned BIGINT NOT NULL, operator TEXT COLLATE "C" NOT NULL,
	revoked BIGINT NOT NULL DEFAULT 0, revoked_by TEXT COLLATE "C" NOT NULL DEFAULT '', revoke_reason TEXT COLLATE "C" NOT NULL DEFAULT '');
CREATE UNIQUE INDEX devices_cert ON devices (issuer, serial);
CREATE INDEX devices_product ON devices (product, provisioned);
CREATE TABLE crls (
	issuer TEXT COLLATE "C" PRIMARY KEY, number TEXT COLLATE "C" NOT NULL, this_update BIGINT NOT NULL, next_update BIGINT NOT NULL,
	der BYTEA NOT NULL, uploaded BIGINT NOT NULL, uploaded_by TEXT COLLATE "C" NOT NULL);
CREATE TABLE recipients (
	"user" TEXT COLLATE "C" PRIMARY KEY REFERENCES users(name), recipient TEXT COLLATE "C" NOT NULL, updated BIGINT NOT NULL);
CREATE TABLE production_packages (
	id TEXT COLLATE "C" PRIMARY KEY, product TEXT COLLATE "C" NOT NULL REFERENCES products(name), batch TEXT COLLATE "C" NOT NULL,
	count BIGINT NOT NULL, not_before BIGINT NOT NULL, expires BIGINT NOT NULL,
	release TEXT COLLATE "C" NOT NULL, version TEXT COLLATE "C" NOT NULL, image_mode TEXT COLLATE "C" NOT NULL, signer TEXT COLLATE "C" NOT NULL,
	ca_key_id TEXT COLLATE "C" NOT NULL, manifest BYTEA NOT NULL, manifest_json BYTEA NOT NULL, prefix BYTEA NOT NULL,
	payload_digest BYTEA NOT NULL, payload_size BIGINT NOT NULL,
	issued BIGINT NOT NULL DEFAULT 0, refused BIGINT NOT NULL DEFAULT 0,
	uploaded BIGINT NOT NULL, uploaded_by TEXT COLLATE "C" NOT NULL);
CREATE UNIQUE INDEX production_packages_ca ON production_packages (ca_key_id);
CREATE INDEX production_packages_product ON production_packages (product, uploaded);
CREATE TABLE production_tickets (
	id TEXT COLLATE "C" PRIMARY KEY, package TEXT COLLATE "C" NOT NULL REFERENCES production_packages(id), seq BIGINT NOT NULL,
	device TEXT COLLATE "C" NOT NULL, station TEXT COLLATE "C" NOT NULL, issued BIGINT NOT NULL, ticket BYTEA NOT NULL,
	used_by TEXT COLLATE "C" NOT NULL DEFAULT '', used BIGINT NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX production_tickets_seq ON production_tickets (package, seq);
CREATE INDEX production_tickets_used ON production_tickets (used_by);
`,
	// 2: state that several server instances share.
	`
CREATE TABLE rate_buckets (key TEXT COLLATE "C" PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, last BIGINT NOT NULL);
CREATE INDEX rate_buckets_last ON rate_buckets (last);
CREATE TABLE secrets (name TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL, created BIGINT NOT NULL);
`,
	// 3: products' trust anchors, and the station accounts a production
	// package is bound to.
	`
CREATE TABLE device_roots (
	product TEXT COLLATE "C" NOT NULL REFERENCES products(name), fingerprint TEXT COLLATE "C" NOT NULL,
	subject TEXT COLLATE "C" NOT NULL, cert BYTEA NOT NULL, comment TEXT COLLATE "C" NOT NULL,
	added BIGINT NOT NULL, added_by TEXT COLLATE "C" NOT NULL,
	revoked BIGINT NOT NULL DEFAULT 0, revoked_by TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (product, fingerprint));
CREATE TABLE production_package_stations (
	package TEXT COLLATE "C" NOT NULL REFERENCES production_packages(id), account TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (package, account));
`,
	// 4: a device's ticket found again, for a station asking twice.
	`
CREATE INDEX production_tickets_device ON production_tickets (package, device);
`,
	// 5: leases on blobs being committed, and the references garbage
	// collection looks up one blob at a time.
	`
CREATE TABLE blob_leases (digest BYTEA NOT NULL, holder TEXT COLLATE "C" NOT NULL, expires BIGINT NOT NULL, PRIMARY KEY (digest, holder));
CREATE INDEX releases_payload ON releases (payload_digest);
CREATE INDEX production_packages_payload ON production_packages (payload_digest);
`,
	// 6: a block of tickets found again by the name its station gave the
	// request.
	`
ALTER TABLE production_tickets ADD COLUMN request TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX production_tickets_request ON production_tickets (package, request);
`,
	// 7: ESP32 boards' MACs and eFuse state; such a board may be recorded
	// without a certificate, so only certificates must be unique.
	`
ALTER TABLE devices ADD COLUMN mac TEXT COLLATE "C" NOT NULL DEFAULT '',
	ADD COLUMN efuses TEXT COLLATE "C" NOT NULL DEFAULT '', ADD COLUMN efuses_updated BIGINT NOT NULL DEFAULT 0;
DROP INDEX devices_cert;
CREATE UNIQUE INDEX devices_cert ON devices (issuer, serial) WHERE serial <> '';
CREATE INDEX devices_mac ON devices (mac);
`,
	// 8: the manifest facts a product's security plan counts, kept at
	// publish so the summary decodes no manifest; filled from the stored
	// manifests (a manifest that is not JSON counts as neither).
	`
ALTER TABLE releases ADD COLUMN passphrase BOOLEAN NOT NULL DEFAULT false;
CREATE TABLE release_recipients (
	product TEXT COLLATE "C" NOT NULL, recipient TEXT COLLATE "C" NOT NULL, release TEXT COLLATE "C" NOT NULL REFERENCES releases(id),
	PRIMARY KEY (product, recipient, release));
CREATE FUNCTION pg_temp.manifest_object(b BYTEA) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN CASE WHEN jsonb_typeof(convert_from(b, 'UTF8')::jsonb) = 'object' THEN convert_from(b, 'UTF8')::jsonb ELSE '{}'::jsonb END;
EXCEPTION WHEN others THEN
	RETURN '{}'::jsonb;
END $$;
UPDATE releases SET passphrase = true WHERE pg_temp.manifest_object(manifest_json) -> 'passphrase' = 'true'::jsonb;
INSERT INTO release_recipients (product, recipient, release)
	SELECT r.product, e #>> '{}', r.id FROM releases r, LATERAL (SELECT pg_temp.manifest_object(r.manifest_json) -> 'recipients' AS rs) AS m,
	jsonb_array_elements(CASE WHEN jsonb_typeof(m.rs) = 'array' THEN m.rs ELSE '[]'::jsonb END) AS e
	WHERE jsonb_typeof(e) = 'string'
	ON CONFLICT DO NOTHING;
DROP FUNCTION pg_temp.manifest_object(BYTEA);
`,
}

// OpenPostgres connects to the PostgreSQL database at url (a postgres://
// URL or a key=value connection string, as libpq takes them; a password
// may also come from PGPASSWORD or ~/.pgpass) and applies the schema
// migrations it lacks. Any number of instances may open one database; they
// agree on migrations by an advisory lock.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: postgres URL: %w", err)
	}
	obs := new(observer)
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg), obs})
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connecting to PostgreSQL: %w", err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return &Postgres{SQLite: &SQLite{db: db, postgres: true, obs: obs}}, nil
}

// SchemaVersion returns the schema version the database is at.
func (p *Postgres) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := p.db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return v, nil
}

// Ping checks that the database answers.
func (s *SQLite) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	t, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer t.Rollback()
	if _, err := t.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(writeLock)); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if _, err := t.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	var have int
	if err := t.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("store: the database's schema is version %d, newer than this server's %d: upgrade the server", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		if _, err := t.ExecContext(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("store: schema migration %d: %w", v, err)
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, v, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("store: schema migration: %w", err)
	}
	return nil
}

// pgConnector hands database/sql connections that translate the store's
// queries to PostgreSQL.
type pgConnector struct {
	driver.Connector
	obs *observer
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{cn.(*stdlib.Conn), c.obs}, nil
}

type pgConn struct {
	*stdlib.Conn
	obs *observer
}

func (c *pgConn) Prepare(q string) (driver.Stmt, error) {
	return c.Conn.Prepare(pgQuery(q))
}

func (c *pgConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, pgQuery(q))
}

func (c *pgConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	defer c.obs.since("query", time.Now())
	return c.Conn.ExecContext(ctx, pgQuery(q), args)
}

func (c *pgConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	defer c.obs.since("query", time.Now())
	return c.Conn.QueryContext(ctx, pgQuery(q), args)
}

var pgQueries sync.Map // query text → translated text

// pgQuery translates a query from the dialect the store writes (SQLite's)
// to PostgreSQL's: each ? placeholder becomes $1, $2, …; the identifier
// user, reserved in PostgreSQL, is quoted; LIKE becomes ILIKE, SQLite's
// LIKE being case-insensitive. String literals and quoted identifiers are
// left alone.
func pgQuery(q string) string {
	if v, ok := pgQueries.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	isWord := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '$'
	}
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j < len(q) {
				j++
			}
			b.WriteString(q[i:j])
			i = j
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			i++
		case isWord(c):
			j := i
			for j < len(q) && isWord(q[j]) {
				j++
			}
			switch w := q[i:j]; {
			case w == "user":
				b.WriteString(`"user"`)
			case strings.EqualFold(w, "LIKE"):
				b.WriteString("ILIKE")
			default:
				b.WriteString(w)
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	out := b.String()
	pgQueries.Store(q, out)
	return out
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
