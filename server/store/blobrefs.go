package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"time"
)

// blobLeaseSchema holds the blobs an upload is committing: a lease,
// taken before the blob is written under its digest and given up once
// the record that refers to it is stored (or its upload failed), keeps
// the blob from garbage collection in between.
const blobLeaseSchema = `
CREATE TABLE IF NOT EXISTS blob_leases (digest BLOB NOT NULL, holder TEXT NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (digest, holder));
CREATE INDEX IF NOT EXISTS releases_payload ON releases (payload_digest);
CREATE INDEX IF NOT EXISTS production_packages_payload ON production_packages (payload_digest);
`

// BlobRefs tells garbage collection which blobs are in use, and keeps a
// blob being committed from being collected.
//
// Leases and collection are serialised per digest (SQLite's database lock;
// in PostgreSQL an advisory lock on the digest), so for each blob one of
// two orders holds: the collector decides first, deletes, and the upload
// writes the blob afterwards; or the lease is stored first and the
// collector, seeing it, keeps the blob. An identical upload can no longer
// land between the collector's check and its delete.
type BlobRefs interface {
	// PayloadDigests lists the payload digest of every stored release and
	// production package: the blobs to keep.
	PayloadDigests(ctx context.Context) ([][32]byte, error)
	// LeaseBlob records that holder is about to write blob d and then
	// store a record that refers to it, until at most until. Call it
	// before the blob is written under its digest.
	LeaseBlob(ctx context.Context, d [32]byte, holder string, until time.Time) error
	// ReleaseBlob gives up holder's lease on d, once the record is stored
	// or the upload failed.
	ReleaseBlob(ctx context.Context, d [32]byte, holder string) error
	// CollectBlob calls del to delete blob d unless a release or
	// production package refers to it or a lease on it runs past now,
	// and reports whether del ran and deleted it. No lease on d can be
	// taken while del runs.
	CollectBlob(ctx context.Context, d [32]byte, now time.Time, del func(context.Context) (bool, error)) (bool, error)
}

var _ BlobRefs = (*SQLite)(nil)

// digestLock is the PostgreSQL advisory lock key that serialises leases
// and collection of blob d. A key shared by two digests only serialises
// more than needed.
func digestLock(d [32]byte) int64 {
	return int64(binary.BigEndian.Uint64(d[:8]))
}

// blobTx runs fn in a transaction holding d's lock but not the write lock
// the audit log's appends need, so other changes go on meanwhile.
func (s *SQLite) blobTx(ctx context.Context, d [32]byte, fn func(*sql.Tx) error) error {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer t.Rollback()
	if s.postgres {
		if _, err := t.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, digestLock(d)); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	if err := fn(t); err != nil {
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// LeaseBlob stores holder's lease on d.
func (s *SQLite) LeaseBlob(ctx context.Context, d [32]byte, holder string, until time.Time) error {
	return s.blobTx(ctx, d, func(t *sql.Tx) error {
		if _, err := t.ExecContext(ctx, `INSERT INTO blob_leases (digest, holder, expires) VALUES (?,?,?)
			ON CONFLICT (digest, holder) DO UPDATE SET expires = excluded.expires`, d[:], holder, unixNano(until)); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}

// ReleaseBlob removes holder's lease on d.
func (s *SQLite) ReleaseBlob(ctx context.Context, d [32]byte, holder string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM blob_leases WHERE digest = ? AND holder = ?`, d[:], holder); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// CollectBlob deletes d with del, holding d's lock, unless it is
// referred to or leased.
func (s *SQLite) CollectBlob(ctx context.Context, d [32]byte, now time.Time, del func(context.Context) (bool, error)) (bool, error) {
	deleted := false
	err := s.blobTx(ctx, d, func(t *sql.Tx) error {
		if _, err := t.ExecContext(ctx, `DELETE FROM blob_leases WHERE digest = ? AND expires <= ?`, d[:], unixNano(now)); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		var used bool
		if err := t.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM releases WHERE payload_digest = ?)
			OR EXISTS (SELECT 1 FROM production_packages WHERE payload_digest = ?)
			OR EXISTS (SELECT 1 FROM blob_leases WHERE digest = ?)`, d[:], d[:], d[:]).Scan(&used); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if used {
			return nil
		}
		var err error
		deleted, err = del(ctx)
		return err
	})
	return deleted, err
}
