package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"trustforge/crypto/audit"
)

// CountUsers returns how many accounts exist.
func (s *SQLite) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return n, nil
}

func insertUser(ctx context.Context, t *sql.Tx, u User) error {
	_, err := t.ExecContext(ctx, `INSERT INTO users (name, role, password, disabled, created) VALUES (?,?,?,?,?)`,
		u.Name, u.Roles.String(), u.PasswordHash, u.Disabled, unixNano(u.Created))
	if isUnique(err) {
		return fmt.Errorf("%w: user %q", ErrExists, u.Name)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// CreateUser adds an account.
func (s *SQLite) CreateUser(ctx context.Context, u User, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error { return insertUser(ctx, t, u) })
}

// User returns the account called name.
func (s *SQLite) User(ctx context.Context, name string) (User, error) {
	var u User
	var role string
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT name, role, password, disabled, created FROM users WHERE name = ?`, name).
		Scan(&u.Name, &role, &u.PasswordHash, &u.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: user %q", ErrNotFound, name)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: %w", err)
	}
	u.Roles, u.Created = readRoles(role), fromNano(created)
	return u, nil
}

// ListUsers lists all accounts by name.
func (s *SQLite) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, role, password, disabled, created FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var role string
		var created int64
		if err := rows.Scan(&u.Name, &role, &u.PasswordHash, &u.Disabled, &created); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		u.Roles, u.Created = readRoles(role), fromNano(created)
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser replaces an account's roles, password hash and disabled flag.
// Disabling an account, or changing or removing its password, also ends
// its sessions: whoever signed in with the old password is signed out.
func (s *SQLite) UpdateUser(ctx context.Context, u User, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		var oldHash string
		err := t.QueryRowContext(ctx, `SELECT password FROM users WHERE name = ?`, u.Name).Scan(&oldHash)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: user %s", ErrNotFound, u.Name)
		} else if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		res, err := t.ExecContext(ctx, `UPDATE users SET role = ?, password = ?, disabled = ? WHERE name = ?`,
			u.Roles.String(), u.PasswordHash, u.Disabled, u.Name)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if err := affected(res, "user "+u.Name); err != nil {
			return err
		}
		if u.Disabled || u.PasswordHash != oldHash {
			if _, err := t.ExecContext(ctx, `DELETE FROM sessions WHERE user = ?`, u.Name); err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
		return nil
	})
}

// SetEnrolment replaces any enrolment secret.
func (s *SQLite) SetEnrolment(ctx context.Context, hash []byte, expires time.Time, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		if _, err := t.ExecContext(ctx, `DELETE FROM enrolment`); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO enrolment (hash, expires) VALUES (?,?)`, hash, unixNano(expires)); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}

// Enrol consumes a live enrolment secret and creates u.
func (s *SQLite) Enrol(ctx context.Context, hash []byte, now time.Time, u User, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `DELETE FROM enrolment WHERE hash = ? AND expires > ?`, hash, unixNano(now))
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if err := affected(res, "enrolment secret"); err != nil {
			return err
		}
		return insertUser(ctx, t, u)
	})
}

// CreateSession records a new session and drops expired ones.
func (s *SQLite) CreateSession(ctx context.Context, ss Session, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		if _, err := t.ExecContext(ctx, `DELETE FROM sessions WHERE expires <= ?`, unixNano(ss.Created)); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		_, err := t.ExecContext(ctx, `INSERT INTO sessions (hash, user, created, expires) VALUES (?,?,?,?)`,
			ss.Hash, ss.User, unixNano(ss.Created), unixNano(ss.Expires))
		if isForeignKey(err) {
			return fmt.Errorf("%w: user %q", ErrNotFound, ss.User)
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}

// Session returns the session whose cookie hashes to hash, expired or not.
func (s *SQLite) Session(ctx context.Context, hash []byte) (Session, error) {
	var ss Session
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT hash, user, created, expires FROM sessions WHERE hash = ?`, hash).
		Scan(&ss.Hash, &ss.User, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("%w: session", ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("store: %w", err)
	}
	ss.Created, ss.Expires = fromNano(created), fromNano(expires)
	return ss, nil
}

// DeleteSession ends a session.
func (s *SQLite) DeleteSession(ctx context.Context, hash []byte, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return affected(res, "session")
	})
}

// CreateToken records a new API token.
func (s *SQLite) CreateToken(ctx context.Context, tk Token, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO tokens (id, hash, user, name, created, expires) VALUES (?,?,?,?,?,?)`,
			tk.ID, tk.Hash, tk.User, tk.Name, unixNano(tk.Created), unixNano(tk.Expires))
		switch {
		case isForeignKey(err):
			return fmt.Errorf("%w: user %q", ErrNotFound, tk.User)
		case isUnique(err):
			return fmt.Errorf("%w: token %s", ErrExists, tk.ID)
		case err != nil:
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}

const tokenCols = `id, hash, user, name, created, expires`

func scanToken(sc interface{ Scan(...any) error }) (Token, error) {
	var tk Token
	var created, expires int64
	if err := sc.Scan(&tk.ID, &tk.Hash, &tk.User, &tk.Name, &created, &expires); err != nil {
		return Token{}, err
	}
	tk.Created, tk.Expires = fromNano(created), fromNano(expires)
	return tk, nil
}

// TokenByHash returns the token whose secret hashes to hash.
func (s *SQLite) TokenByHash(ctx context.Context, hash []byte) (Token, error) {
	tk, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("%w: token", ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("store: %w", err)
	}
	return tk, nil
}

// Token returns the token with public identifier id.
func (s *SQLite) Token(ctx context.Context, id string) (Token, error) {
	tk, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("%w: token %s", ErrNotFound, id)
	}
	if err != nil {
		return Token{}, fmt.Errorf("store: %w", err)
	}
	return tk, nil
}

// ListTokens lists a user's tokens, or all tokens for user "".
func (s *SQLite) ListTokens(ctx context.Context, user string) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE ? = '' OR user = ? ORDER BY created, id`, user, user)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		tk, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, tk)
	}
	return out, rows.Err()
}

// DeleteToken revokes a token.
func (s *SQLite) DeleteToken(ctx context.Context, id string, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return affected(res, "token "+id)
	})
}
