package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"trustforge/crypto/audit"
)

// productionSchema holds production orders: the packages engineers upload
// for programming stations, and every production ticket the server issued
// against them.
const productionSchema = `
CREATE TABLE IF NOT EXISTS production_packages (
	id TEXT PRIMARY KEY, product TEXT NOT NULL REFERENCES products(name), batch TEXT NOT NULL,
	count INTEGER NOT NULL, not_before INTEGER NOT NULL, expires INTEGER NOT NULL,
	release TEXT NOT NULL, version TEXT NOT NULL, image_mode TEXT NOT NULL, signer TEXT NOT NULL,
	ca_key_id TEXT NOT NULL, manifest BLOB NOT NULL, manifest_json BLOB NOT NULL, prefix BLOB NOT NULL,
	payload_digest BLOB NOT NULL, payload_size INTEGER NOT NULL,
	issued INTEGER NOT NULL DEFAULT 0, refused INTEGER NOT NULL DEFAULT 0,
	uploaded INTEGER NOT NULL, uploaded_by TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS production_packages_ca ON production_packages (ca_key_id);
CREATE INDEX IF NOT EXISTS production_packages_product ON production_packages (product, uploaded);
CREATE TABLE IF NOT EXISTS production_tickets (
	id TEXT PRIMARY KEY, package TEXT NOT NULL REFERENCES production_packages(id), seq INTEGER NOT NULL,
	device TEXT NOT NULL, station TEXT NOT NULL, issued INTEGER NOT NULL, ticket BLOB NOT NULL,
	used_by TEXT NOT NULL DEFAULT '', used INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS production_tickets_seq ON production_tickets (package, seq);
CREATE INDEX IF NOT EXISTS production_tickets_used ON production_tickets (used_by);
CREATE INDEX IF NOT EXISTS production_tickets_device ON production_tickets (package, device);
CREATE TABLE IF NOT EXISTS production_package_stations (
	package TEXT NOT NULL REFERENCES production_packages(id), account TEXT NOT NULL,
	PRIMARY KEY (package, account));
`

// TicketRequest asks IssueTickets for production tickets.
type TicketRequest struct {
	// Package is the package's id.
	Package string
	// Device, when not "", asks for the one ticket bound to this device
	// (N is then 1): when the package has one for it already, that ticket
	// is handed out again. "" asks for a block of N unbound tickets.
	Device string
	// Request, when not "", names a block request, chosen by the station:
	// when Station already took a block under this name, that block is
	// handed out again (a different N gives ErrRequestReused). "" takes a
	// new block each time. Only with Device "".
	Request string
	// Station is the account asking, recorded on each ticket.
	Station string
	// N is the number of tickets asked for, at least 1.
	N int
	// Now is the time of the request, checked against the package's
	// validity.
	Now time.Time
	// New makes and signs the ticket numbered seq.
	New func(seq int) (ProductionTicket, error)
	// Event is the audit entry of a ticket issued.
	Event func(ProductionTicket) audit.Event
	// Again is the audit entry of a device's ticket handed out again; nil
	// records nothing.
	Again func(ProductionTicket) audit.Event
	// Refusal is the audit entry of a refused request.
	Refusal func(reason string) audit.Event
}

// IssuedTickets is what IssueTickets handed out.
type IssuedTickets struct {
	Tickets []ProductionTicket
	// Again is set when Tickets are the device's ticket or the request's
	// block issued before: nothing was counted.
	Again bool
	// Issued is the package's count of tickets issued, after this
	// request.
	Issued int
}

// Errors of ticket issuance, which callers branch on.
var (
	// ErrCountReached: the package's authorised count of tickets has been
	// issued.
	ErrCountReached = errors.New("store: authorised count reached")
	// ErrOutsideValidity: the package is not open at this time.
	ErrOutsideValidity = errors.New("store: the order is not open")
	// ErrRequestReused: a block request's name was used before for a
	// block of another size.
	ErrRequestReused = errors.New("store: block request name used before")
)

// ProductionPackage is a production package's metadata; its payload lives
// in the blob store under PayloadDigest.
type ProductionPackage struct {
	ID        string // hex SHA-256 of the manifest's CBOR
	Product   string
	Batch     string
	Count     int
	NotBefore time.Time
	Expires   time.Time
	Release   string // the release's id
	Version   string
	ImageMode string
	Signer    string // fingerprint of the key that signed the manifest
	// CAKeyID is the batch CA's subject key identifier, hex: the
	// authority key identifier of the devices it certifies.
	CAKeyID       string
	Manifest      []byte // the signed manifest
	ManifestJSON  []byte // the verified manifest as JSON
	Prefix        []byte // the .tfp's bytes before the payload
	PayloadDigest [32]byte
	PayloadSize   int64
	Issued        int // tickets issued
	Refused       int // ticket requests refused
	Uploaded      time.Time
	UploadedBy    string
	// Stations are the station accounts the package is encrypted to, as
	// their published recipients named them when it was uploaded: only
	// they take its tickets and register its boards. Package and
	// PackageByCA fill it; ListPackages does not. Packages uploaded
	// before accounts were recorded have none.
	Stations []string
}

// ProductionTicket is one ticket the server issued.
type ProductionTicket struct {
	ID      string // 16 bytes, hex
	Package string
	Seq     int
	Device  string // the device it was issued for, or "" for a block ticket
	Station string // the account that asked for it
	Issued  time.Time
	Ticket  []byte // the signed ticket
	UsedBy  string // the device registered with it, or ""
	Used    time.Time
}

// Production keeps production packages and their tickets.
type Production interface {
	// AddPackage stores a package; an id or batch CA already stored gives
	// ErrExists.
	AddPackage(ctx context.Context, p ProductionPackage, ev audit.Event) error
	Package(ctx context.Context, id string) (ProductionPackage, error)
	// PackageByCA returns the package whose batch CA has key id caKeyID.
	PackageByCA(ctx context.Context, caKeyID string) (ProductionPackage, error)
	// ListPackages lists a product's packages (every product's for ""),
	// newest first.
	ListPackages(ctx context.Context, product string) ([]ProductionPackage, error)
	// IssueTickets issues the tickets q asks for in one transaction: it
	// refuses with ErrOutsideValidity or ErrCountReached (recording the
	// refusal with q.Refusal) unless all q.N fit in the count, numbers them
	// after those issued, makes each with q.New (which signs it) and
	// appends q.Event(ticket) to the audit log for each. A device's ticket
	// is issued once: asking again for a device the package has a ticket
	// for returns that ticket and counts nothing, so a station whose
	// answer was lost asks again and gets what was issued.
	IssueTickets(ctx context.Context, q TicketRequest) (IssuedTickets, error)
	Ticket(ctx context.Context, id string) (ProductionTicket, error)
	// ListTickets lists a package's tickets in order.
	ListTickets(ctx context.Context, pkg string) ([]ProductionTicket, error)
	// UseTicket records that device registered with ticket id. A ticket
	// used by another device gives ErrConflict; by the same, nothing
	// changes.
	UseTicket(ctx context.Context, id, device string, at time.Time, ev audit.Event) error
	// CountAudit counts the audit entries of action whose detail key has
	// value (any detail when key is "").
	CountAudit(ctx context.Context, action, key, value string) (int, error)
	// BatchDevices counts a product's registered devices certified by a
	// batch CA, and how many of those registered with a ticket.
	BatchDevices(ctx context.Context, product string) (fromBatches, withTicket int, err error)
}

var _ Production = (*SQLite)(nil)

const packageColumns = `id, product, batch, count, not_before, expires, release, version, image_mode, signer, ca_key_id,
	manifest, manifest_json, prefix, payload_digest, payload_size, issued, refused, uploaded, uploaded_by`

func scanPackage(row rowScanner, p *ProductionPackage) error {
	var nb, exp, up int64
	var digest []byte
	err := row.Scan(&p.ID, &p.Product, &p.Batch, &p.Count, &nb, &exp, &p.Release, &p.Version, &p.ImageMode, &p.Signer,
		&p.CAKeyID, &p.Manifest, &p.ManifestJSON, &p.Prefix, &digest, &p.PayloadSize, &p.Issued, &p.Refused, &up, &p.UploadedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: production package", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	copy(p.PayloadDigest[:], digest)
	p.NotBefore, p.Expires, p.Uploaded = fromNano(nb), fromNano(exp), fromNano(up)
	return nil
}

// AddPackage stores a production package.
func (s *SQLite) AddPackage(ctx context.Context, p ProductionPackage, ev audit.Event) error {
	return s.tx(ctx, ev, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO production_packages (`+packageColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			p.ID, p.Product, p.Batch, p.Count, unixNano(p.NotBefore), unixNano(p.Expires), p.Release, p.Version, p.ImageMode,
			p.Signer, p.CAKeyID, p.Manifest, p.ManifestJSON, p.Prefix, p.PayloadDigest[:], p.PayloadSize, 0, 0,
			unixNano(p.Uploaded), p.UploadedBy)
		switch {
		case isForeignKey(err):
			return fmt.Errorf("%w: product %q", ErrNotFound, p.Product)
		case isUnique(err):
			return fmt.Errorf("%w: package %s, or another package with the same batch CA", ErrExists, p.ID)
		case err != nil:
			return fmt.Errorf("store: %w", err)
		}
		for _, a := range p.Stations {
			if _, err := t.ExecContext(ctx, `INSERT INTO production_package_stations (package, account) VALUES (?, ?)`, p.ID, a); err != nil && !isUnique(err) {
				return fmt.Errorf("store: %w", err)
			}
		}
		return nil
	})
}

// packageStations reads a package's station accounts into p.
func (s *SQLite) packageStations(ctx context.Context, p *ProductionPackage) error {
	rows, err := s.db.QueryContext(ctx, `SELECT account FROM production_package_stations WHERE package = ? ORDER BY account`, p.ID)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	p.Stations = []string{}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		p.Stations = append(p.Stations, a)
	}
	return rows.Err()
}

// Package returns a production package.
func (s *SQLite) Package(ctx context.Context, id string) (ProductionPackage, error) {
	var p ProductionPackage
	if err := scanPackage(s.db.QueryRowContext(ctx, `SELECT `+packageColumns+` FROM production_packages WHERE id = ?`, id), &p); err != nil {
		if errors.Is(err, ErrNotFound) {
			return p, fmt.Errorf("%w: production package %s", ErrNotFound, id)
		}
		return p, err
	}
	return p, s.packageStations(ctx, &p)
}

// PackageByCA returns the package of a batch CA.
func (s *SQLite) PackageByCA(ctx context.Context, caKeyID string) (ProductionPackage, error) {
	var p ProductionPackage
	if err := scanPackage(s.db.QueryRowContext(ctx, `SELECT `+packageColumns+` FROM production_packages WHERE ca_key_id = ?`, caKeyID), &p); err != nil {
		return p, err
	}
	return p, s.packageStations(ctx, &p)
}

// ListPackages lists packages, newest first.
func (s *SQLite) ListPackages(ctx context.Context, product string) ([]ProductionPackage, error) {
	q := `SELECT ` + packageColumns + ` FROM production_packages`
	var args []any
	if product != "" {
		q += ` WHERE product = ?`
		args = append(args, product)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY uploaded DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := []ProductionPackage{}
	for rows.Next() {
		var p ProductionPackage
		if err := scanPackage(rows, &p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

const ticketColumns = `id, package, seq, device, station, issued, ticket, used_by, used`

func scanTicket(row rowScanner, t *ProductionTicket) error {
	var issued, used int64
	err := row.Scan(&t.ID, &t.Package, &t.Seq, &t.Device, &t.Station, &issued, &t.Ticket, &t.UsedBy, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: production ticket", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	t.Issued, t.Used = fromNano(issued), fromNano(used)
	return nil
}

// IssueTickets counts, makes and records tickets in one transaction.
func (s *SQLite) IssueTickets(ctx context.Context, q TicketRequest) (IssuedTickets, error) {
	switch {
	case q.N < 1:
		return IssuedTickets{}, fmt.Errorf("store: %d tickets asked for", q.N)
	case q.Device != "" && q.N != 1:
		return IssuedTickets{}, fmt.Errorf("store: %d tickets asked for one device", q.N)
	case q.Device != "" && q.Request != "":
		return IssuedTickets{}, errors.New("store: a device's ticket is asked for by device, not by request")
	}
	var out IssuedTickets
	var refused error
	err := s.tx(ctx, audit.Event{}, func(t *sql.Tx) error {
		var p ProductionPackage
		if err := scanPackage(t.QueryRowContext(ctx, `SELECT `+packageColumns+` FROM production_packages WHERE id = ?`, q.Package), &p); err != nil {
			return err
		}
		out.Issued = p.Issued
		switch {
		case q.Now.Before(p.NotBefore):
			refused = fmt.Errorf("%w: order %s opens at %s", ErrOutsideValidity, p.Batch, p.NotBefore.UTC().Format(time.RFC3339))
		case !q.Now.Before(p.Expires):
			refused = fmt.Errorf("%w: order %s ended at %s", ErrOutsideValidity, p.Batch, p.Expires.UTC().Format(time.RFC3339))
		}
		if refused == nil && q.Device != "" {
			// The device's ticket, if the package has one: its first
			// answer may have been lost (an instance gone, a connection
			// cut after the commit).
			var tk ProductionTicket
			err := scanTicket(t.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM production_tickets
				WHERE package = ? AND device = ? ORDER BY seq LIMIT 1`, q.Package, q.Device), &tk)
			switch {
			case err == nil:
				out.Tickets, out.Again = []ProductionTicket{tk}, true
				if q.Again == nil {
					return nil
				}
				return appendAudit(ctx, t, q.Again(tk))
			case !errors.Is(err, ErrNotFound):
				return err
			}
		}
		if refused == nil && q.Request != "" {
			// The block this station took under this name, if any.
			rows, err := t.QueryContext(ctx, `SELECT `+ticketColumns+` FROM production_tickets
				WHERE package = ? AND request = ? AND station = ? ORDER BY seq`, q.Package, q.Request, q.Station)
			if err != nil {
				return fmt.Errorf("store: %w", err)
			}
			var block []ProductionTicket
			for rows.Next() {
				var tk ProductionTicket
				if err := scanTicket(rows, &tk); err != nil {
					rows.Close()
					return err
				}
				block = append(block, tk)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			switch {
			case len(block) == q.N:
				out.Tickets, out.Again = block, true
				if q.Again == nil {
					return nil
				}
				for _, tk := range block {
					if err := appendAudit(ctx, t, q.Again(tk)); err != nil {
						return err
					}
				}
				return nil
			case len(block) > 0:
				return fmt.Errorf("%w: request %q took a block of %d tickets, not %d", ErrRequestReused, q.Request, len(block), q.N)
			}
		}
		if refused == nil && p.Issued+q.N > p.Count {
			refused = fmt.Errorf("%w: %d of %d tickets of order %s are issued, %d more asked for", ErrCountReached, p.Issued, p.Count, p.Batch, q.N)
		}
		if refused != nil {
			if _, err := t.ExecContext(ctx, `UPDATE production_packages SET refused = refused + 1 WHERE id = ?`, q.Package); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			return appendAudit(ctx, t, q.Refusal(refused.Error()))
		}
		for seq := p.Issued + 1; seq <= p.Issued+q.N; seq++ {
			tk, err := q.New(seq)
			if err != nil {
				return err
			}
			tk.Package, tk.Seq, tk.Device, tk.Station = q.Package, seq, q.Device, q.Station
			if _, err := t.ExecContext(ctx, `INSERT INTO production_tickets (`+ticketColumns+`, request) VALUES (?,?,?,?,?,?,?,?,?,?)`,
				tk.ID, tk.Package, tk.Seq, tk.Device, tk.Station, unixNano(tk.Issued), tk.Ticket, "", 0, q.Request); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			if err := appendAudit(ctx, t, q.Event(tk)); err != nil {
				return err
			}
			out.Tickets = append(out.Tickets, tk)
		}
		if _, err := t.ExecContext(ctx, `UPDATE production_packages SET issued = issued + ? WHERE id = ?`, q.N, q.Package); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		out.Issued = p.Issued + q.N
		return nil
	})
	if err != nil {
		return IssuedTickets{}, err
	}
	if refused != nil {
		return IssuedTickets{}, refused
	}
	return out, nil
}

// Ticket returns a ticket.
func (s *SQLite) Ticket(ctx context.Context, id string) (ProductionTicket, error) {
	var t ProductionTicket
	err := scanTicket(s.db.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM production_tickets WHERE id = ?`, id), &t)
	return t, err
}

// ListTickets lists a package's tickets by sequence number.
func (s *SQLite) ListTickets(ctx context.Context, pkg string) ([]ProductionTicket, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+ticketColumns+` FROM production_tickets WHERE package = ? ORDER BY seq`, pkg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := []ProductionTicket{}
	for rows.Next() {
		var t ProductionTicket
		if err := scanTicket(rows, &t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UseTicket records the device registered with a ticket.
func (s *SQLite) UseTicket(ctx context.Context, id, device string, at time.Time, ev audit.Event) error {
	var unchanged bool
	err := s.tx(ctx, audit.Event{}, func(t *sql.Tx) error {
		var tk ProductionTicket
		if err := scanTicket(t.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM production_tickets WHERE id = ?`, id), &tk); err != nil {
			return err
		}
		switch {
		case tk.UsedBy == device:
			unchanged = true
			return nil
		case tk.UsedBy != "":
			return fmt.Errorf("%w: ticket %s was used by device %s", ErrConflict, id, tk.UsedBy)
		case tk.Device != "" && tk.Device != device:
			return fmt.Errorf("%w: ticket %s was issued for device %s", ErrConflict, id, tk.Device)
		}
		if _, err := t.ExecContext(ctx, `UPDATE production_tickets SET used_by = ?, used = ? WHERE id = ?`, device, unixNano(at), id); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return appendAudit(ctx, t, ev)
	})
	if unchanged {
		return nil
	}
	return err
}

// CountAudit counts audit entries by action and one detail value.
func (s *SQLite) CountAudit(ctx context.Context, action, key, value string) (int, error) {
	q, args := `SELECT count(*) FROM audit WHERE action = ?`, []any{action}
	if key != "" {
		if s.postgres {
			q += ` AND detail::jsonb ->> ? = ?`
		} else {
			q += ` AND json_extract(detail, '$.' || ?) = ?`
		}
		args = append(args, key, value)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return n, nil
}

// BatchDevices counts a product's batch-certified devices and those with
// a ticket.
func (s *SQLite) BatchDevices(ctx context.Context, product string) (fromBatches, withTicket int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT count(*), count(t.id) FROM devices d
		JOIN production_packages p ON p.ca_key_id = d.issuer
		LEFT JOIN production_tickets t ON t.package = p.id AND t.used_by = d.id
		WHERE d.product = ?`, product).Scan(&fromBatches, &withTicket)
	if err != nil {
		return 0, 0, fmt.Errorf("store: %w", err)
	}
	return fromBatches, withTicket, nil
}
