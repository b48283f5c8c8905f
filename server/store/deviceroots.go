package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"trustforge/crypto/audit"
)

// deviceRootSchema holds each product's trust anchors: the device CA roots
// an administrator or engineer registered for it. A board is registered,
// and a production package accepted, only when its chain ends at one of
// its product's active roots.
const deviceRootSchema = `
CREATE TABLE IF NOT EXISTS device_roots (
	product TEXT NOT NULL REFERENCES products(name), fingerprint TEXT NOT NULL,
	subject TEXT NOT NULL, cert BLOB NOT NULL, comment TEXT NOT NULL,
	added INTEGER NOT NULL, added_by TEXT NOT NULL,
	revoked INTEGER NOT NULL DEFAULT 0, revoked_by TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (product, fingerprint));
`

// DeviceRoot is a device CA root registered as a trust anchor of a
// product.
type DeviceRoot struct {
	Product     string
	Fingerprint string // hex SHA-256 of the certificate's DER
	Subject     string
	Cert        []byte // the root certificate, DER
	Comment     string
	Added       time.Time
	AddedBy     string
	Revoked     time.Time // zero: active
	RevokedBy   string
}

// IsRevoked reports whether the root no longer anchors new registrations.
func (r DeviceRoot) IsRevoked() bool { return !r.Revoked.IsZero() }

// DeviceRoots keeps the products' trust anchors.
type DeviceRoots interface {
	// AddDeviceRoot registers a root for its product; a root already
	// registered (active or revoked) gives ErrExists, an unknown product
	// ErrNotFound.
	AddDeviceRoot(ctx context.Context, r DeviceRoot, ev audit.Event) error
	// DeviceRoots lists a product's roots, revoked ones included, oldest
	// first.
	DeviceRoots(ctx context.Context, product string) ([]DeviceRoot, error)
	// RevokeDeviceRoot stops an active root from anchoring new boards and
	// packages; ErrNotFound when there is no such active root.
	RevokeDeviceRoot(ctx context.Context, product, fingerprint string, at time.Time, by string, ev audit.Event) error
}

// AddDeviceRoot registers a product's trust anchor.
func (s *SQLite) AddDeviceRoot(ctx context.Context, r DeviceRoot, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO device_roots (product, fingerprint, subject, cert, comment, added, added_by, revoked, revoked_by)
			VALUES (?,?,?,?,?,?,?,?,?)`, r.Product, r.Fingerprint, r.Subject, r.Cert, r.Comment, unixNano(r.Added), r.AddedBy,
			unixNano(r.Revoked), r.RevokedBy)
		switch {
		case isForeignKey(err):
			return fmt.Errorf("%w: product %q", ErrNotFound, r.Product)
		case isUnique(err):
			return fmt.Errorf("%w: root %s is already registered for %s", ErrExists, r.Fingerprint, r.Product)
		case err != nil:
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}

// DeviceRoots lists a product's trust anchors, oldest first.
func (s *SQLite) DeviceRoots(ctx context.Context, product string) ([]DeviceRoot, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT product, fingerprint, subject, cert, comment, added, added_by, revoked, revoked_by
		FROM device_roots WHERE product = ? ORDER BY added, fingerprint`, product)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := []DeviceRoot{}
	for rows.Next() {
		var r DeviceRoot
		var added, revoked int64
		if err := rows.Scan(&r.Product, &r.Fingerprint, &r.Subject, &r.Cert, &r.Comment, &added, &r.AddedBy, &revoked, &r.RevokedBy); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		r.Added, r.Revoked = fromNano(added), fromNano(revoked)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RevokeDeviceRoot retires a product's trust anchor.
func (s *SQLite) RevokeDeviceRoot(ctx context.Context, product, fingerprint string, at time.Time, by string, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `UPDATE device_roots SET revoked = ?, revoked_by = ? WHERE product = ? AND fingerprint = ? AND revoked = 0`,
			unixNano(at), by, product, fingerprint)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return affected(res, "active device root "+fingerprint+" of "+product)
	})
}
