package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"trustforge/crypto/audit"
)

// ChannelHead returns the highest release ever placed on a product image's
// channel, or the zero Head.
func (s *SQLite) ChannelHead(ctx context.Context, product string, image int, channel string) (Head, error) {
	return channelHead(ctx, s.db, product, image, channel)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func channelHead(ctx context.Context, q queryer, product string, image int, channel string) (Head, error) {
	var h Head
	var counter int64
	err := q.QueryRowContext(ctx, `SELECT release, version, counter FROM heads WHERE product = ? AND image = ? AND channel = ?`,
		product, image, channel).Scan(&h.Release, &h.Version, &counter)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{}, nil
	}
	if err != nil {
		return Head{}, fmt.Errorf("store: %w", err)
	}
	h.SecurityCounter = uint64(counter)
	return h, nil
}

// moveHead checks that the channel's head is still expect and moves it to r.
func moveHead(ctx context.Context, t *sql.Tx, r Release, channel string, expect Head) error {
	var n int
	if err := t.QueryRowContext(ctx, `SELECT count(*) FROM channels WHERE product = ? AND name = ?`, r.Product, channel).Scan(&n); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: channel %q of product %q", ErrNotFound, channel, r.Product)
	}
	cur, err := channelHead(ctx, t, r.Product, r.Image, channel)
	if err != nil {
		return err
	}
	if cur != expect {
		return fmt.Errorf("%w: channel %q moved to %s", ErrConflict, channel, cur.Version)
	}
	_, err = t.ExecContext(ctx, `INSERT INTO heads (product, image, channel, release, version, counter) VALUES (?,?,?,?,?,?)
		ON CONFLICT (product, image, channel) DO UPDATE SET release = excluded.release, version = excluded.version, counter = excluded.counter`,
		r.Product, r.Image, channel, r.ID, r.Version, int64(r.SecurityCounter))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// PublishRelease stores a release offered on its manifest's channel.
func (s *SQLite) PublishRelease(ctx context.Context, r Release, expect Head, ev audit.Event) error {
	if r.SecurityCounter > 1<<63-1 {
		return fmt.Errorf("store: security counter %d out of range", r.SecurityCounter)
	}
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		if err := moveHead(ctx, t, r, r.Channel, expect); err != nil {
			return err
		}
		_, err := t.ExecContext(ctx, `INSERT INTO releases (id, product, image, version, counter, channel, signer,
			manifest, manifest_json, prefix, payload_digest, payload_size, uploaded, uploaded_by)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			r.ID, r.Product, r.Image, r.Version, int64(r.SecurityCounter), r.Channel, r.Signer,
			r.Manifest, r.ManifestJSON, r.Prefix, r.PayloadDigest[:], r.PayloadSize, unixNano(r.Uploaded), r.UploadedBy)
		switch {
		case isUnique(err):
			return fmt.Errorf("%w: release %s %s (image %d)", ErrExists, r.Product, r.Version, r.Image)
		case isForeignKey(err):
			return fmt.Errorf("%w: product %q", ErrNotFound, r.Product)
		case err != nil:
			return fmt.Errorf("store: %w", err)
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO offers (release, channel, added, added_by) VALUES (?,?,?,?)`,
			r.ID, r.Channel, unixNano(r.Uploaded), r.UploadedBy); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return keepManifestFacts(ctx, t, r)
	})
}

// manifestFacts are the fields of a release's manifest that its product's
// security plan counts. PublishRelease keeps them in columns, so that
// ReleaseStats never decodes a manifest.
type manifestFacts struct {
	Recipients []string `json:"recipients"`
	Passphrase bool     `json:"passphrase"`
}

// keepManifestFacts records whether r is encrypted to a passphrase and
// the recipients it is encrypted to. A manifest that is not a JSON object
// counts as neither, as the summary always counted it.
func keepManifestFacts(ctx context.Context, t *sql.Tx, r Release) error {
	var m manifestFacts
	if json.Unmarshal(r.ManifestJSON, &m) != nil {
		return nil
	}
	if m.Passphrase {
		if _, err := t.ExecContext(ctx, `UPDATE releases SET passphrase = ? WHERE id = ?`, true, r.ID); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	for _, rc := range m.Recipients {
		if _, err := t.ExecContext(ctx, `INSERT INTO release_recipients (product, recipient, release) VALUES (?,?,?)
			ON CONFLICT DO NOTHING`, r.Product, rc, r.ID); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	return nil
}

// ReleaseStats are the counts of a product's releases that its security
// plan needs.
type ReleaseStats struct {
	Total, Yanked int
	// WithCounter counts releases with a security counter above zero.
	WithCounter int
	// Passphrase counts releases encrypted to a passphrase.
	Passphrase int
	// Signers, Uploaders and Recipients count the distinct signing keys,
	// uploading accounts and age recipients over all the releases.
	Signers, Uploaders, Recipients int
}

// ReleaseStats counts a product's releases, yanked ones included.
func (s *SQLite) ReleaseStats(ctx context.Context, product string) (ReleaseStats, error) {
	var st ReleaseStats
	err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN yanked <> 0 THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN counter > 0 THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN passphrase THEN 1 ELSE 0 END), 0),
		count(DISTINCT signer), count(DISTINCT uploaded_by)
		FROM releases WHERE product = ?`, product).
		Scan(&st.Total, &st.Yanked, &st.WithCounter, &st.Passphrase, &st.Signers, &st.Uploaders)
	if err != nil {
		return st, fmt.Errorf("store: %w", err)
	}
	err = s.db.QueryRowContext(ctx, `SELECT count(DISTINCT recipient) FROM release_recipients WHERE product = ?`, product).
		Scan(&st.Recipients)
	if err != nil {
		return st, fmt.Errorf("store: %w", err)
	}
	return st, nil
}

// Promote offers a release on another channel.
func (s *SQLite) Promote(ctx context.Context, id string, o Offer, expect Head, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		r, err := getRelease(ctx, t, id)
		if err != nil {
			return err
		}
		if r.IsYanked() {
			return fmt.Errorf("%w: release %s was yanked", ErrConflict, id)
		}
		for _, have := range r.Offers {
			if have.Channel == o.Channel {
				return fmt.Errorf("%w: release %s is already on %q", ErrExists, id, o.Channel)
			}
		}
		if err := moveHead(ctx, t, r, o.Channel, expect); err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO offers (release, channel, added, added_by) VALUES (?,?,?,?)`,
			id, o.Channel, unixNano(o.Added), o.AddedBy); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}

// Yank withdraws a release.
func (s *SQLite) Yank(ctx context.Context, id string, at time.Time, by, reason string, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		res, err := t.ExecContext(ctx, `UPDATE releases SET yanked = ?, yanked_by = ?, yank_reason = ? WHERE id = ? AND yanked = 0`,
			unixNano(at), by, reason, id)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if err := affected(res, "release "+id); err != nil {
			if _, gerr := getRelease(ctx, t, id); gerr == nil {
				return fmt.Errorf("%w: release %s was already yanked", ErrConflict, id)
			}
			return err
		}
		return nil
	})
}

const releaseCols = `id, product, image, version, counter, channel, signer, manifest, manifest_json, prefix,
	payload_digest, payload_size, uploaded, uploaded_by, yanked, yanked_by, yank_reason`

type rowsQueryer interface {
	queryer
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func scanRelease(sc interface{ Scan(...any) error }) (Release, error) {
	var r Release
	var counter, uploaded, yanked int64
	var digest []byte
	err := sc.Scan(&r.ID, &r.Product, &r.Image, &r.Version, &counter, &r.Channel, &r.Signer, &r.Manifest,
		&r.ManifestJSON, &r.Prefix, &digest, &r.PayloadSize, &uploaded, &r.UploadedBy, &yanked, &r.YankedBy, &r.YankReason)
	if err != nil {
		return Release{}, err
	}
	r.SecurityCounter = uint64(counter)
	copy(r.PayloadDigest[:], digest)
	r.Uploaded, r.Yanked = fromNano(uploaded), fromNano(yanked)
	return r, nil
}

func offersOf(ctx context.Context, q rowsQueryer, id string) ([]Offer, error) {
	rows, err := q.QueryContext(ctx, `SELECT channel, added, added_by FROM offers WHERE release = ? ORDER BY added, channel`, id)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Offer
	for rows.Next() {
		var o Offer
		var added int64
		if err := rows.Scan(&o.Channel, &added, &o.AddedBy); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		o.Added = fromNano(added)
		out = append(out, o)
	}
	return out, rows.Err()
}

func getRelease(ctx context.Context, q rowsQueryer, id string) (Release, error) {
	r, err := scanRelease(q.QueryRowContext(ctx, `SELECT `+releaseCols+` FROM releases WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Release{}, fmt.Errorf("%w: release %s", ErrNotFound, id)
	}
	if err != nil {
		return Release{}, fmt.Errorf("store: %w", err)
	}
	r.Offers, err = offersOf(ctx, q, id)
	return r, err
}

// Release returns one release by ID.
func (s *SQLite) Release(ctx context.Context, id string) (Release, error) {
	return getRelease(ctx, s.db, id)
}

// ListReleases lists releases matching f, newest upload first.
func (s *SQLite) ListReleases(ctx context.Context, f Filter) ([]Release, error) {
	var where []string
	var args []any
	if f.Product != "" {
		where, args = append(where, "product = ?"), append(args, f.Product)
	}
	if f.Channel != "" {
		where, args = append(where, "id IN (SELECT release FROM offers WHERE channel = ?)"), append(args, f.Channel)
	}
	if f.Version != "" {
		where, args = append(where, "version = ?"), append(args, f.Version)
	}
	if f.Image != nil {
		where, args = append(where, "image = ?"), append(args, *f.Image)
	}
	if !f.WithYank {
		where = append(where, "yanked = 0")
	}
	q := `SELECT ` + releaseCols + ` FROM releases`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY uploaded DESC, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	out := []Release{}
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	for i := range out {
		if out[i].Offers, err = offersOf(ctx, s.db, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PayloadDigests lists the payload digest of every stored release and
// production package.
func (s *SQLite) PayloadDigests(ctx context.Context) ([][32]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT payload_digest FROM releases UNION SELECT payload_digest FROM production_packages`)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out [][32]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		var d [32]byte
		copy(d[:], b)
		out = append(out, d)
	}
	return out, rows.Err()
}
