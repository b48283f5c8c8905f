package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"trustforge/crypto/audit"
)

// recipientSchema holds the recipient directory: each account's published
// age recipient, the public key releases are encrypted to so its holder
// can open them.
const recipientSchema = `
CREATE TABLE IF NOT EXISTS recipients (
	user TEXT PRIMARY KEY REFERENCES users(name), recipient TEXT NOT NULL, updated INTEGER NOT NULL);
`

// Recipient is an account's published age recipient.
type Recipient struct {
	User      string
	Roles     Roles // the account's roles, read from the account
	Recipient string
	Updated   time.Time
}

// Recipients is the recipient directory.
type Recipients interface {
	// SetRecipient publishes (or replaces) user's age recipient. A
	// recipient another account has published gives ErrExists: a recipient
	// names one account, so nobody can pass off another's key as their own.
	SetRecipient(ctx context.Context, r Recipient, ev audit.Event) error
	// ListRecipients lists the recipients of enabled accounts, by user name.
	ListRecipients(ctx context.Context) ([]Recipient, error)
}

// SetRecipient publishes (or replaces) r.User's age recipient.
func (s *SQLite) SetRecipient(ctx context.Context, r Recipient, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		var other string
		err := t.QueryRowContext(ctx, `SELECT user FROM recipients WHERE recipient = ? AND user != ? LIMIT 1`, r.Recipient, r.User).Scan(&other)
		switch {
		case err == nil:
			return fmt.Errorf("%w: account %s has already published this recipient", ErrExists, other)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("store: %w", err)
		}
		_, err = t.ExecContext(ctx, `INSERT INTO recipients (user, recipient, updated) VALUES (?, ?, ?)
			ON CONFLICT (user) DO UPDATE SET recipient = excluded.recipient, updated = excluded.updated`,
			r.User, r.Recipient, unixNano(r.Updated))
		if isForeignKey(err) {
			return fmt.Errorf("%w: user %s", ErrNotFound, r.User)
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}

// ListRecipients lists the recipients of enabled accounts, by user name.
func (s *SQLite) ListRecipients(ctx context.Context) ([]Recipient, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.user, u.role, r.recipient, r.updated
		FROM recipients r JOIN users u ON u.name = r.user WHERE NOT u.disabled ORDER BY r.user`)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Recipient
	for rows.Next() {
		var r Recipient
		var updated int64
		var roles string
		if err := rows.Scan(&r.User, &roles, &r.Recipient, &updated); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		r.Roles, r.Updated = readRoles(roles), fromNano(updated)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return out, nil
}
