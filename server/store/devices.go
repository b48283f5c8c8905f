package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"trustforge/crypto/audit"
)

// deviceSchema holds the device registry: provisioned boards with their
// certificate chains and public keys, and the revocation lists published
// for their issuers.
const deviceSchema = `
CREATE TABLE IF NOT EXISTS devices (
	id TEXT PRIMARY KEY, product TEXT NOT NULL REFERENCES products(name),
	model TEXT NOT NULL, rev TEXT NOT NULL, serial TEXT NOT NULL, issuer TEXT NOT NULL,
	subject TEXT NOT NULL, chain BLOB NOT NULL, root TEXT NOT NULL,
	enc_key BLOB NOT NULL, enc_fingerprint TEXT NOT NULL, boot_key_hash TEXT NOT NULL,
	provisioned INTEGER NOT NULL, operator TEXT NOT NULL,
	revoked INTEGER NOT NULL DEFAULT 0, revoked_by TEXT NOT NULL DEFAULT '', revoke_reason TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX IF NOT EXISTS devices_cert ON devices (issuer, serial);
CREATE INDEX IF NOT EXISTS devices_product ON devices (product, provisioned);
CREATE TABLE IF NOT EXISTS crls (
	issuer TEXT PRIMARY KEY, number TEXT NOT NULL, this_update INTEGER NOT NULL, next_update INTEGER NOT NULL,
	der BLOB NOT NULL, uploaded INTEGER NOT NULL, uploaded_by TEXT NOT NULL);
`

// Device is a provisioned board as the registry keeps it: public material
// only.
type Device struct {
	ID      string // the board's unique id, lowercase hex
	Product string
	Model   string
	Rev     string
	Serial  string // the device certificate's serial number, hex
	Issuer  string // the issuing CA's key identifier, hex
	Subject string // the device certificate's subject
	Chain   []byte // the chain, concatenated DER: device certificate, intermediate, root
	Root    string // hex SHA-256 of the root certificate
	// EncryptionKey is the board's X25519 image encryption key, PEM
	// SubjectPublicKeyInfo; nil when it has none.
	EncryptionKey  []byte
	EncFingerprint string // hex SHA-256 of the encryption key's DER
	BootKeyHash    string // hex SHA-256 of the boot key fused into it
	Provisioned    time.Time
	Operator       string
	Revoked        time.Time // zero: not revoked
	RevokedBy      string
	RevokeReason   string
	// MAC is an ESP32-family board's factory MAC address, lowercase and
	// colon-separated; "" for boards that have none on record.
	MAC string
	// EFuses is the board's eFuse security state, JSON as the release API
	// defines it (the store keeps it as given); nil when none was
	// recorded.
	EFuses []byte
	// EFusesUpdated is when EFuses was last recorded (zero: never).
	EFusesUpdated time.Time
}

// HasCertificate reports whether the device was registered with a
// certificate chain; an ESP32 board recorded by its MAC and eFuses alone
// has none.
func (d Device) HasCertificate() bool { return d.Serial != "" }

// IsRevoked reports whether the device's certificate was revoked.
func (d Device) IsRevoked() bool { return !d.Revoked.IsZero() }

// DeviceFilter selects devices. Zero fields match everything.
type DeviceFilter struct {
	Product string
	// Query matches a prefix of the device id or certificate serial, or
	// part of the model, subject or MAC, case-insensitively.
	Query       string
	WithRevoked bool
	Limit       int // zero: no limit
}

// CRL is the latest revocation list published for an issuer.
type CRL struct {
	Issuer     string // the issuing CA's key identifier, hex
	Number     string // the CRL number, decimal
	ThisUpdate time.Time
	NextUpdate time.Time
	DER        []byte
	Uploaded   time.Time
	UploadedBy string
}

// Devices keeps the device registry and the revocation lists.
type Devices interface {
	// RegisterDevice records a board; a device id or certificate already
	// registered gives ErrExists.
	RegisterDevice(ctx context.Context, d Device, ev audit.Event) error
	Device(ctx context.Context, id string) (Device, error)
	ListDevices(ctx context.Context, f DeviceFilter) ([]Device, error)
	// DeviceStats counts a product's registered devices, revoked ones
	// included, without reading them.
	DeviceStats(ctx context.Context, product string) (DeviceStats, error)
	// ProductRoot returns the root (hex SHA-256) the product's registered
	// devices chain to, or "" when it has none yet.
	ProductRoot(ctx context.Context, product string) (string, error)
	// IssuerChain returns the chain of a registered device issued by
	// issuer, to check a CRL against; ErrNotFound when none is.
	IssuerChain(ctx context.Context, issuer string) ([]byte, error)
	RevokeDevice(ctx context.Context, id string, at time.Time, by, reason string, ev audit.Event) error
	// RecordEFuses records a board's MAC and eFuse state: it creates d
	// (a board known by these alone, with no certificate) when its id is
	// new, and otherwise sets the registered entry's model, revision, MAC
	// and eFuse state, once check has accepted that entry. Whatever check
	// returns is returned, with nothing changed. created says which it
	// was.
	RecordEFuses(ctx context.Context, d Device, check func(prior Device) error, ev audit.Event) (created bool, err error)
	// PutCRL stores c as its issuer's latest list, provided its number is
	// above the stored one's (else ErrConflict).
	PutCRL(ctx context.Context, c CRL, ev audit.Event) error
	CRL(ctx context.Context, issuer string) (CRL, error)
}

const deviceColumns = `id, product, model, rev, serial, issuer, subject, chain, root, enc_key, enc_fingerprint,
	boot_key_hash, provisioned, operator, revoked, revoked_by, revoke_reason, mac, efuses, efuses_updated`

// RegisterDevice records a board.
func (s *SQLite) RegisterDevice(ctx context.Context, d Device, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		var prior Device
		err := scanDevice(t.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = ?`, d.ID), &prior)
		switch {
		case err == nil:
			return fmt.Errorf("%w: device %s was registered on %s by %s", ErrExists, d.ID,
				prior.Provisioned.Format(time.RFC3339), prior.Operator)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		err = insertDevice(ctx, t, d)
		switch {
		case isForeignKey(err):
			return fmt.Errorf("%w: product %q", ErrNotFound, d.Product)
		case isUnique(err):
			return fmt.Errorf("%w: certificate %s of issuer %s is registered to another device", ErrExists, d.Serial, d.Issuer)
		case err != nil:
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}

func insertDevice(ctx context.Context, t *sql.Tx, d Device) error {
	_, err := t.ExecContext(ctx, `INSERT INTO devices (`+deviceColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		d.ID, d.Product, d.Model, d.Rev, d.Serial, d.Issuer, d.Subject, nonNil(d.Chain), d.Root, nonNil(d.EncryptionKey),
		d.EncFingerprint, d.BootKeyHash, unixNano(d.Provisioned), d.Operator, unixNano(d.Revoked), d.RevokedBy, d.RevokeReason,
		d.MAC, string(d.EFuses), unixNano(d.EFusesUpdated))
	return err
}

// RecordEFuses records a board's MAC and eFuse state.
func (s *SQLite) RecordEFuses(ctx context.Context, d Device, check func(prior Device) error, ev audit.Event) (bool, error) {
	created := false
	err := s.tx(ctx, ev, func(t *sql.Tx) error {
		var prior Device
		err := scanDevice(t.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = ?`, d.ID), &prior)
		switch {
		case errors.Is(err, ErrNotFound):
			err = insertDevice(ctx, t, d)
			switch {
			case isForeignKey(err):
				return fmt.Errorf("%w: product %q", ErrNotFound, d.Product)
			case err != nil:
				return fmt.Errorf("store: %w", err)
			}
			created = true
			return nil
		case err != nil:
			return err
		}
		if check != nil {
			if err := check(prior); err != nil {
				return err
			}
		}
		_, err = t.ExecContext(ctx, `UPDATE devices SET model = ?, rev = ?, mac = ?, efuses = ?, efuses_updated = ? WHERE id = ?`,
			d.Model, d.Rev, d.MAC, string(d.EFuses), unixNano(d.EFusesUpdated), d.ID)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
	return created, err
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

type rowScanner interface{ Scan(dest ...any) error }

func scanDevice(row rowScanner, d *Device) error {
	var prov, rev, efUpdated int64
	var efuses string
	err := row.Scan(&d.ID, &d.Product, &d.Model, &d.Rev, &d.Serial, &d.Issuer, &d.Subject, &d.Chain, &d.Root,
		&d.EncryptionKey, &d.EncFingerprint, &d.BootKeyHash, &prov, &d.Operator, &rev, &d.RevokedBy, &d.RevokeReason,
		&d.MAC, &efuses, &efUpdated)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: device", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if len(d.EncryptionKey) == 0 {
		d.EncryptionKey = nil
	}
	if len(d.Chain) == 0 {
		d.Chain = nil
	}
	if efuses != "" {
		d.EFuses = []byte(efuses)
	}
	d.Provisioned, d.Revoked, d.EFusesUpdated = fromNano(prov), fromNano(rev), fromNano(efUpdated)
	return nil
}

// Device returns a registered device.
func (s *SQLite) Device(ctx context.Context, id string) (Device, error) {
	var d Device
	if err := scanDevice(s.db.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = ?`, id), &d); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Device{}, fmt.Errorf("%w: device %s", ErrNotFound, id)
		}
		return Device{}, err
	}
	return d, nil
}

// ListDevices lists devices, most recently provisioned first.
func (s *SQLite) ListDevices(ctx context.Context, f DeviceFilter) ([]Device, error) {
	q := `SELECT ` + deviceColumns + ` FROM devices WHERE 1=1`
	var args []any
	if f.Product != "" {
		q += ` AND product = ?`
		args = append(args, f.Product)
	}
	if !f.WithRevoked {
		q += ` AND revoked = 0`
	}
	if f.Query != "" {
		like := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		prefix := escapeLike(strings.ToLower(f.Query)) + "%"
		q += ` AND (id LIKE ? ESCAPE '\' OR serial LIKE ? ESCAPE '\' OR lower(model) LIKE ? ESCAPE '\' OR lower(subject) LIKE ? ESCAPE '\'
			OR mac LIKE ? ESCAPE '\')`
		args = append(args, prefix, prefix, like, like, like)
	}
	q += ` ORDER BY provisioned DESC, id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := []Device{}
	for rows.Next() {
		var d Device
		if err := scanDevice(rows, &d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeviceStats are the counts of a product's registered devices that its
// security plan needs.
type DeviceStats struct {
	Total, Revoked, WithEncryptionKey, Roots int
	// BootKeys counts the devices by the hash of the boot key fused into
	// them; devices without one are left out.
	BootKeys map[string]int
	// Issuers lists the CAs that issued the devices' certificates.
	Issuers []string
}

// DeviceStats counts a product's devices in the database.
func (s *SQLite) DeviceStats(ctx context.Context, product string) (DeviceStats, error) {
	st := DeviceStats{BootKeys: map[string]int{}}
	err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN revoked <> 0 THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN length(enc_key) > 0 THEN 1 ELSE 0 END), 0), count(DISTINCT root)
		FROM devices WHERE product = ?`, product).Scan(&st.Total, &st.Revoked, &st.WithEncryptionKey, &st.Roots)
	if err != nil {
		return st, fmt.Errorf("store: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT boot_key_hash, count(*) FROM devices
		WHERE product = ? AND boot_key_hash <> '' GROUP BY boot_key_hash`, product)
	if err != nil {
		return st, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var n int
		if err := rows.Scan(&h, &n); err != nil {
			return st, fmt.Errorf("store: %w", err)
		}
		st.BootKeys[h] = n
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("store: %w", err)
	}
	issuers, err := s.db.QueryContext(ctx, `SELECT DISTINCT issuer FROM devices WHERE product = ? ORDER BY issuer`, product)
	if err != nil {
		return st, fmt.Errorf("store: %w", err)
	}
	defer issuers.Close()
	for issuers.Next() {
		var iss string
		if err := issuers.Scan(&iss); err != nil {
			return st, fmt.Errorf("store: %w", err)
		}
		st.Issuers = append(st.Issuers, iss)
	}
	return st, issuers.Err()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ProductRoot returns the root the product's devices chain to.
func (s *SQLite) ProductRoot(ctx context.Context, product string) (string, error) {
	var root string
	err := s.db.QueryRowContext(ctx, `SELECT root FROM devices WHERE product = ? AND root <> '' ORDER BY provisioned LIMIT 1`, product).Scan(&root)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return root, nil
}

// IssuerChain returns the chain of a device issued by issuer.
func (s *SQLite) IssuerChain(ctx context.Context, issuer string) ([]byte, error) {
	var chain []byte
	err := s.db.QueryRowContext(ctx, `SELECT chain FROM devices WHERE issuer = ? AND serial <> '' LIMIT 1`, issuer).Scan(&chain)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no registered device was issued by %s", ErrNotFound, issuer)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return chain, nil
}

// RevokeDevice marks a device's certificate revoked.
func (s *SQLite) RevokeDevice(ctx context.Context, id string, at time.Time, by, reason string, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `UPDATE devices SET revoked = ?, revoked_by = ?, revoke_reason = ? WHERE id = ? AND revoked = 0`,
			unixNano(at), by, reason, id)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return affected(res, "unrevoked device "+id)
	})
}

// PutCRL stores an issuer's latest revocation list.
func (s *SQLite) PutCRL(ctx context.Context, c CRL, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		var have string
		err := t.QueryRowContext(ctx, `SELECT number FROM crls WHERE issuer = ?`, c.Issuer).Scan(&have)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("store: %w", err)
		case !numberAbove(c.Number, have):
			return fmt.Errorf("%w: CRL number %s is not above the published %s", ErrConflict, c.Number, have)
		}
		_, err = t.ExecContext(ctx, `INSERT INTO crls (issuer, number, this_update, next_update, der, uploaded, uploaded_by) VALUES (?,?,?,?,?,?,?)
			ON CONFLICT (issuer) DO UPDATE SET number = excluded.number, this_update = excluded.this_update,
			next_update = excluded.next_update, der = excluded.der, uploaded = excluded.uploaded, uploaded_by = excluded.uploaded_by`,
			c.Issuer, c.Number, unixNano(c.ThisUpdate), unixNano(c.NextUpdate), c.DER, unixNano(c.Uploaded), c.UploadedBy)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}

// numberAbove compares two non-negative decimal numbers.
func numberAbove(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}

// CRL returns an issuer's latest revocation list.
func (s *SQLite) CRL(ctx context.Context, issuer string) (CRL, error) {
	var c CRL
	var tu, nu, up int64
	err := s.db.QueryRowContext(ctx, `SELECT issuer, number, this_update, next_update, der, uploaded, uploaded_by FROM crls WHERE issuer = ?`, issuer).
		Scan(&c.Issuer, &c.Number, &tu, &nu, &c.DER, &up, &c.UploadedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return CRL{}, fmt.Errorf("%w: no CRL published for issuer %s", ErrNotFound, issuer)
	}
	if err != nil {
		return CRL{}, fmt.Errorf("store: %w", err)
	}
	c.ThisUpdate, c.NextUpdate, c.Uploaded = fromNano(tu), fromNano(nu), fromNano(up)
	return c, nil
}
