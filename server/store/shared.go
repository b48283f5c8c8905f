package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"trustforge/crypto/audit"
)

// sharedSchema holds state that several server instances on one database
// share beyond the records above: sign-in rate-limit buckets and server
// secrets.
const sharedSchema = `
CREATE TABLE IF NOT EXISTS rate_buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL, created INTEGER NOT NULL);
`

// RateLimits keeps token buckets every server instance draws from, so a
// limit holds however many instances answer.
type RateLimits interface {
	// TakeAttempt takes one attempt from bucket key at now. A bucket holds
	// up to burst attempts and refills one every every. When it is empty,
	// TakeAttempt returns false and how long until an attempt is allowed.
	TakeAttempt(ctx context.Context, key string, burst int, every time.Duration, now time.Time) (bool, time.Duration, error)
}

// Secrets keeps secrets every server instance needs, such as the ticket
// signing key. The store keeps the bytes it is given: callers seal them.
type Secrets interface {
	// Secret returns the secret called name, or an error wrapping
	// ErrNotFound.
	Secret(ctx context.Context, name string) ([]byte, error)
	// PutSecret stores value as name unless a secret of that name is
	// stored, and returns the stored one: of instances racing to create
	// a secret, the first wins and all use its value.
	PutSecret(ctx context.Context, name string, value []byte, now time.Time) ([]byte, error)
}

// staleBucket is how long after its last use a bucket is forgotten; every
// limit the server sets refills well within it.
const staleBucket = 24 * time.Hour

var bucketSweeps atomic.Uint64

// TakeAttempt takes one attempt from a shared token bucket.
func (s *SQLite) TakeAttempt(ctx context.Context, key string, burst int, every time.Duration, now time.Time) (bool, time.Duration, error) {
	var ok bool
	var wait time.Duration
	err := s.tx(ctx, audit.Event{}, func(t *sql.Tx) error {
		if bucketSweeps.Add(1)%256 == 0 {
			if _, err := t.ExecContext(ctx, `DELETE FROM rate_buckets WHERE last < ?`, now.Add(-staleBucket).UnixNano()); err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
		tokens, last := float64(burst), now.UnixNano()
		err := t.QueryRowContext(ctx, `SELECT tokens, last FROM rate_buckets WHERE key = ?`, key).Scan(&tokens, &last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: %w", err)
		}
		if dt := now.UnixNano() - last; dt > 0 && every > 0 {
			tokens = min(float64(burst), tokens+float64(dt)/float64(every))
		}
		last = max(last, now.UnixNano())
		if tokens < 1 {
			wait = time.Duration((1 - tokens) * float64(every))
		} else {
			tokens--
			ok = true
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO rate_buckets (key, tokens, last) VALUES (?,?,?)
			ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, last = excluded.last`, key, tokens, last); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
	return ok, wait, err
}

// Secret returns a stored secret.
func (s *SQLite) Secret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: secret %q", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return v, nil
}

// PutSecret stores a secret unless one of that name is stored, and
// returns the stored one.
func (s *SQLite) PutSecret(ctx context.Context, name string, value []byte, now time.Time) ([]byte, error) {
	var stored []byte
	err := s.tx(ctx, audit.Event{}, func(t *sql.Tx) error {
		if _, err := t.ExecContext(ctx, `INSERT INTO secrets (name, value, created) VALUES (?,?,?) ON CONFLICT (name) DO NOTHING`,
			name, nonNil(value), now.UnixNano()); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if err := t.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&stored); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
	return stored, err
}

// observer passes store latencies to whoever watches them.
type observer struct {
	fn atomic.Pointer[func(op string, d time.Duration)]
}

func (o *observer) since(op string, start time.Time) {
	if o == nil {
		return
	}
	if f := o.fn.Load(); f != nil {
		(*f)(op, time.Since(start))
	}
}

// SetObserver has fn called with the duration of every write transaction
// ("tx") and, on PostgreSQL, every statement ("query"); nil stops it.
func (s *SQLite) SetObserver(fn func(op string, d time.Duration)) {
	if fn == nil {
		s.obs.fn.Store(nil)
		return
	}
	s.obs.fn.Store(&fn)
}

// EnrolmentOnce issues an enrolment secret unless a live one exists, in
// one transaction, so that of server instances starting together on an
// empty database only one issues (and prints) a link.
type EnrolmentOnce interface {
	// SetEnrolmentIfNone stores hash as SetEnrolment does unless a secret
	// that expires after now is stored; it reports whether it stored.
	SetEnrolmentIfNone(ctx context.Context, hash []byte, expires, now time.Time, ev audit.Event) (bool, error)
}

// SetEnrolmentIfNone issues an enrolment secret unless a live one exists.
func (s *SQLite) SetEnrolmentIfNone(ctx context.Context, hash []byte, expires, now time.Time, ev audit.Event) (bool, error) {
	errLive := errors.New("live")
	err := s.tx(ctx, ev, func(t *sql.Tx) error {
		var n int
		if err := t.QueryRowContext(ctx, `SELECT count(*) FROM enrolment WHERE expires > ?`, now.UnixNano()).Scan(&n); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if n > 0 {
			return errLive
		}
		if _, err := t.ExecContext(ctx, `DELETE FROM enrolment`); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO enrolment (hash, expires) VALUES (?,?)`, hash, unixNano(expires)); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
	if errors.Is(err, errLive) {
		return false, nil
	}
	return err == nil, err
}
