package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"trustforge/crypto/audit"
)

func newPackageStore(t *testing.T, openTest opener, count int) (*SQLite, ProductionPackage) {
	t.Helper()
	ctx := context.Background()
	s := openTest(t)
	if err := s.CreateProduct(ctx, Product{Name: "thermo", Channels: []string{"stable"}, Created: t0}, ev("product.create", "thermo")); err != nil {
		t.Fatal(err)
	}
	p := ProductionPackage{ID: "pkg1", Product: "thermo", Batch: "b1", Count: count, NotBefore: t0, Expires: t0.Add(24 * time.Hour),
		Release: "rel", Version: "1.0.0", ImageMode: "device", Signer: "fp", CAKeyID: "ca1", Manifest: []byte{1},
		ManifestJSON: []byte("{}"), Prefix: []byte{2}, PayloadDigest: [32]byte{9}, PayloadSize: 10, Uploaded: t0, UploadedBy: "erin"}
	if err := s.AddPackage(ctx, p, ev("production.publish", p.ID)); err != nil {
		t.Fatal(err)
	}
	return s, p
}

func issue(s *SQLite, id string, n int, at time.Time, device string) ([]ProductionTicket, error) {
	got, err := s.IssueTickets(context.Background(), TicketRequest{Package: id, Device: device, Station: "line1", N: n, Now: at,
		New: func(seq int) (ProductionTicket, error) {
			return ProductionTicket{ID: fmt.Sprintf("t%d-%s", seq, device), Issued: at, Ticket: []byte{byte(seq)}}, nil
		},
		Event: func(tk ProductionTicket) audit.Event { return ev("production.ticket", tk.ID) },
		Again: func(tk ProductionTicket) audit.Event { return ev("production.ticket.again", tk.ID) },
		Refusal: func(reason string) audit.Event {
			return audit.Event{Time: at, Actor: "line1", Action: "production.refuse", Subject: id, Detail: map[string]string{"reason": reason}}
		}})
	return got.Tickets, err
}

func testTicketsAreCounted(t *testing.T, openTest opener) {
	ctx := context.Background()
	s, p := newPackageStore(t, openTest, 8)
	if err := s.AddPackage(ctx, p, ev("production.publish", p.ID)); !errors.Is(err, ErrExists) {
		t.Errorf("the same package again: %v, want ErrExists", err)
	}
	got, err := issue(s, p.ID, 3, t0.Add(time.Hour), "")
	if err != nil || len(got) != 3 || got[0].Seq != 1 || got[2].Seq != 3 {
		t.Fatalf("a block of 3: %+v, %v", got, err)
	}
	if _, err := issue(s, p.ID, 6, t0.Add(time.Hour), ""); !errors.Is(err, ErrCountReached) {
		t.Errorf("6 more of 8 after 3: %v, want ErrCountReached", err)
	}
	// Concurrent requests never issue more than the count.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := issue(s, p.ID, 1, t0.Add(time.Hour), fmt.Sprintf("d%02d", i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrCountReached):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 5 || refused != 5 {
		t.Errorf("10 concurrent requests for the last 5: %d issued, %d refused", ok, refused)
	}
	p2, _ := s.Package(ctx, p.ID)
	if p2.Issued != 8 || p2.Refused != 6 {
		t.Errorf("package counts issued=%d refused=%d, want 8 and 6", p2.Issued, p2.Refused)
	}
	all, _ := s.ListTickets(ctx, p.ID)
	for i, tk := range all {
		if tk.Seq != i+1 {
			t.Errorf("ticket %d has sequence %d", i, tk.Seq)
		}
	}
	if n, _ := s.CountAudit(ctx, "production.ticket", "", ""); n != 8 {
		t.Errorf("%d production.ticket audit entries, want 8", n)
	}
	if n, _ := s.CountAudit(ctx, "production.refuse", "reason", "x"); n != 0 {
		t.Errorf("refusals with reason x: %d", n)
	}
	if n, _ := s.CountAudit(ctx, "production.refuse", "", ""); n != 6 {
		t.Errorf("%d refusals audited, want 6", n)
	}
}

// A device has one ticket per package: asking again, concurrently or
// after the count is reached, hands out the same ticket and counts
// nothing, so a station whose answer was lost can ask again.
func testDeviceTicketIssuedOnce(t *testing.T, openTest opener) {
	ctx := context.Background()
	s, p := newPackageStore(t, openTest, 3)
	first, err := issue(s, p.ID, 1, t0, "d1")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([][]ProductionTicket, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = issue(s, p.ID, 1, t0, "d2")
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || len(got[i]) != 1 || got[i][0].ID != got[0][0].ID || got[i][0].Seq != 2 {
			t.Errorf("request %d of 8 concurrent for one device: %+v, %v; want ticket 2 each time", i, got[i], errs[i])
		}
	}
	last, err := issue(s, p.ID, 1, t0, "d3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := issue(s, p.ID, 1, t0, "d4"); !errors.Is(err, ErrCountReached) {
		t.Errorf("a fourth device of 3: %v, want ErrCountReached", err)
	}
	again, err := s.IssueTickets(ctx, TicketRequest{Package: p.ID, Device: "d1", N: 1, Now: t0,
		New:     func(int) (ProductionTicket, error) { return ProductionTicket{}, errors.New("a new ticket made") },
		Event:   func(ProductionTicket) audit.Event { return ev("production.ticket", "x") },
		Refusal: func(string) audit.Event { return ev("production.refuse", "x") }})
	if err != nil || !again.Again || len(again.Tickets) != 1 || again.Tickets[0].ID != first[0].ID ||
		!bytes.Equal(again.Tickets[0].Ticket, first[0].Ticket) || again.Issued != 3 {
		t.Errorf("d1 again once the count is reached: %+v, %v; want its ticket, again, 3 issued", again, err)
	}
	if _, err := issue(s, p.ID, 1, p.Expires, "d3"); !errors.Is(err, ErrOutsideValidity) {
		t.Errorf("d3 again after the order closed: %v, want ErrOutsideValidity", err)
	}
	if _, err := s.IssueTickets(ctx, TicketRequest{Package: p.ID, Device: "d1", N: 2, Now: t0}); err == nil {
		t.Error("two tickets for one device: no error")
	}
	all, _ := s.ListTickets(ctx, p.ID)
	if len(all) != 3 || all[2].ID != last[0].ID {
		t.Errorf("%d tickets stored, want 3", len(all))
	}
	p2, _ := s.Package(ctx, p.ID)
	if p2.Issued != 3 || p2.Refused != 2 {
		t.Errorf("package counts issued=%d refused=%d, want 3 and 2", p2.Issued, p2.Refused)
	}
	if n, _ := s.CountAudit(ctx, "production.ticket", "", ""); n != 3 {
		t.Errorf("%d production.ticket audit entries, want 3", n)
	}
	if n, _ := s.CountAudit(ctx, "production.ticket.again", "", ""); n != 7 {
		t.Errorf("%d production.ticket.again audit entries, want 7 (8 requests for d2, one issued; d1 again is not audited without Again)", n)
	}
}

// A named block request asked again hands out the same block; the name
// belongs to the station that used it, and to one block size.
func testBlockRequestIssuedOnce(t *testing.T, openTest opener) {
	ctx := context.Background()
	s, p := newPackageStore(t, openTest, 5)
	block := func(station, request string, n int) (IssuedTickets, error) {
		return s.IssueTickets(ctx, TicketRequest{Package: p.ID, Request: request, Station: station, N: n, Now: t0,
			New: func(seq int) (ProductionTicket, error) {
				return ProductionTicket{ID: fmt.Sprintf("t%d", seq), Issued: t0, Ticket: []byte{byte(seq)}}, nil
			},
			Event:   func(tk ProductionTicket) audit.Event { return ev("production.ticket", tk.ID) },
			Again:   func(tk ProductionTicket) audit.Event { return ev("production.ticket.again", tk.ID) },
			Refusal: func(string) audit.Event { return ev("production.refuse", p.ID) }})
	}
	first, err := block("line1", "r1", 3)
	if err != nil || first.Again || len(first.Tickets) != 3 || first.Issued != 3 {
		t.Fatalf("a block of 3 named r1: %+v, %v", first, err)
	}
	again, err := block("line1", "r1", 3)
	if err != nil || !again.Again || len(again.Tickets) != 3 || again.Issued != 3 {
		t.Fatalf("r1 again: %+v, %v", again, err)
	}
	for i := range again.Tickets {
		if again.Tickets[i].ID != first.Tickets[i].ID || again.Tickets[i].Station != "line1" {
			t.Errorf("r1 again, ticket %d: %+v, want %+v", i, again.Tickets[i], first.Tickets[i])
		}
	}
	if _, err := block("line1", "r1", 2); !errors.Is(err, ErrRequestReused) {
		t.Errorf("r1 again for 2 tickets: %v, want ErrRequestReused", err)
	}
	// Another station's name is its own; unnamed blocks are new each time.
	if got, err := block("line2", "r1", 1); err != nil || got.Again || got.Tickets[0].Seq != 4 {
		t.Errorf("r1 from another station: %+v, %v; want a new ticket", got, err)
	}
	if got, err := block("line1", "", 1); err != nil || got.Again || got.Tickets[0].Seq != 5 {
		t.Errorf("an unnamed block: %+v, %v; want a new ticket", got, err)
	}
	if got, err := block("line1", "r1", 3); err != nil || !got.Again {
		t.Errorf("r1 again once the count is reached: %+v, %v", got, err)
	}
	if _, err := block("line1", "r2", 1); !errors.Is(err, ErrCountReached) {
		t.Errorf("a new request past the count: %v, want ErrCountReached", err)
	}
	if n, _ := s.CountAudit(ctx, "production.ticket", "", ""); n != 5 {
		t.Errorf("%d production.ticket audit entries, want 5", n)
	}
	if n, _ := s.CountAudit(ctx, "production.ticket.again", "", ""); n != 6 {
		t.Errorf("%d production.ticket.again audit entries, want 6", n)
	}
	if _, err := s.IssueTickets(ctx, TicketRequest{Package: p.ID, Device: "d1", Request: "r3", N: 1, Now: t0}); err == nil {
		t.Error("a device's ticket asked for by request name: no error")
	}
}

func testTicketValidityAndUse(t *testing.T, openTest opener) {
	ctx := context.Background()
	s, p := newPackageStore(t, openTest, 8)
	if _, err := issue(s, p.ID, 1, t0.Add(-time.Second), "d1"); !errors.Is(err, ErrOutsideValidity) {
		t.Errorf("before the order: %v, want ErrOutsideValidity", err)
	}
	if _, err := issue(s, p.ID, 1, p.Expires, "d1"); !errors.Is(err, ErrOutsideValidity) {
		t.Errorf("at expiry: %v, want ErrOutsideValidity", err)
	}
	bound, _ := issue(s, p.ID, 1, t0, "d1")
	block, _ := issue(s, p.ID, 1, t0, "")
	use := func(id, dev string) error {
		return s.UseTicket(ctx, id, dev, t0, ev("production.ticket.use", id))
	}
	if err := use(bound[0].ID, "d2"); !errors.Is(err, ErrConflict) {
		t.Errorf("another device's ticket: %v, want ErrConflict", err)
	}
	for _, dev := range []string{"d1", "d1"} {
		if err := use(bound[0].ID, dev); err != nil {
			t.Errorf("its device: %v", err)
		}
	}
	if err := use(block[0].ID, "d3"); err != nil {
		t.Fatal(err)
	}
	if err := use(block[0].ID, "d4"); !errors.Is(err, ErrConflict) {
		t.Errorf("a block ticket used twice: %v, want ErrConflict", err)
	}
	if n, _ := s.CountAudit(ctx, "production.ticket.use", "", ""); n != 2 {
		t.Errorf("%d uses audited, want 2", n)
	}
	if _, err := s.Ticket(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown ticket: %v", err)
	}
	if ds, _ := s.PayloadDigests(ctx); len(ds) != 1 || ds[0] != p.PayloadDigest {
		t.Errorf("payload digests %x: the package's blob would be collected", ds)
	}
	if got, err := s.PackageByCA(ctx, "ca1"); err != nil || got.ID != p.ID {
		t.Errorf("PackageByCA = %+v, %v", got, err)
	}
}

// A database made before block requests were named gains the column when
// it is opened, keeping its tickets.
func TestSQLiteAddsRequestColumn(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trustforge.db")
	// A database as the server made it before the request column.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, schema+deviceSchema+deviceRootSchema+recipientSchema+productionSchema+sharedSchema); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, p := newPackageStore(t, func(t *testing.T) *SQLite {
		s, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatalf("opening a database without the request column: %v", err)
		}
		return s
	}, 4)
	if _, err := issue(s, p.ID, 1, t0, "d1"); err != nil {
		t.Fatal(err)
	}
	if ts, err := s.ListTickets(ctx, p.ID); err != nil || len(ts) != 1 {
		t.Errorf("tickets after the upgrade: %d, %v", len(ts), err)
	}
	if _, err := issue(s, p.ID, 1, t0, ""); err != nil {
		t.Errorf("a block after the upgrade: %v", err)
	}
}
