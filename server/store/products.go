package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"trustforge/crypto/audit"
)

// CreateProduct adds a product and its channels.
func (s *SQLite) CreateProduct(ctx context.Context, p Product, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO products (name, description, created) VALUES (?,?,?)`,
			p.Name, p.Description, unixNano(p.Created))
		if isUnique(err) {
			return fmt.Errorf("%w: product %q", ErrExists, p.Name)
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		for _, c := range p.Channels {
			if _, err := t.ExecContext(ctx, `INSERT INTO channels (product, name) VALUES (?,?)`, p.Name, c); err != nil {
				if isUnique(err) {
					return fmt.Errorf("%w: channel %q listed twice", ErrExists, c)
				}
				return fmt.Errorf("store: %w", err)
			}
		}
		return nil
	})
}

func (s *SQLite) channels(ctx context.Context, product string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM channels WHERE product = ? ORDER BY name`, product)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Product returns a product with its channels.
func (s *SQLite) Product(ctx context.Context, name string) (Product, error) {
	var p Product
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT name, description, created FROM products WHERE name = ?`, name).
		Scan(&p.Name, &p.Description, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, fmt.Errorf("%w: product %q", ErrNotFound, name)
	}
	if err != nil {
		return Product{}, fmt.Errorf("store: %w", err)
	}
	p.Created = fromNano(created)
	p.Channels, err = s.channels(ctx, name)
	return p, err
}

// ListProducts lists all products by name.
func (s *SQLite) ListProducts(ctx context.Context) ([]Product, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM products ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	out := []Product{}
	for _, n := range names {
		p, err := s.Product(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// AddChannel adds a channel to a product.
func (s *SQLite) AddChannel(ctx context.Context, product, channel string, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO channels (product, name) VALUES (?,?)`, product, channel)
		switch {
		case isForeignKey(err):
			return fmt.Errorf("%w: product %q", ErrNotFound, product)
		case isUnique(err):
			return fmt.Errorf("%w: channel %q", ErrExists, channel)
		case err != nil:
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}

// AddKey registers a release-signing public key for a product.
func (s *SQLite) AddKey(ctx context.Context, k Key, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO keys (product, fingerprint, algorithm, public_key, comment, added, added_by, revoked) VALUES (?,?,?,?,?,?,?,?)`,
			k.Product, k.Fingerprint, k.Algorithm, k.PublicKey, k.Comment, unixNano(k.Added), k.AddedBy, unixNano(k.Revoked))
		switch {
		case isForeignKey(err):
			return fmt.Errorf("%w: product %q", ErrNotFound, k.Product)
		case isUnique(err):
			return fmt.Errorf("%w: key %s", ErrExists, k.Fingerprint)
		case err != nil:
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}

// Keys lists a product's keys, revoked ones included, oldest first.
func (s *SQLite) Keys(ctx context.Context, product string) ([]Key, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT product, fingerprint, algorithm, public_key, comment, added, added_by, revoked FROM keys WHERE product = ? ORDER BY added, fingerprint`, product)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := []Key{}
	for rows.Next() {
		var k Key
		var added, revoked int64
		if err := rows.Scan(&k.Product, &k.Fingerprint, &k.Algorithm, &k.PublicKey, &k.Comment, &added, &k.AddedBy, &revoked); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		k.Added, k.Revoked = fromNano(added), fromNano(revoked)
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeKey stops a key from being accepted for new releases. It stays
// listed, and releases it signed stay valid.
func (s *SQLite) RevokeKey(ctx context.Context, product, fingerprint string, at time.Time, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `UPDATE keys SET revoked = ? WHERE product = ? AND fingerprint = ? AND revoked = 0`,
			unixNano(at), product, fingerprint)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return affected(res, "active key "+fingerprint)
	})
}
