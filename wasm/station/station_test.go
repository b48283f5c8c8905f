package station

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/crypto/vault"
	"trustforge/devices/provision"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
	"trustforge/wasm/storage"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// line is a production line under test: an opened package and the
// server's side of tickets (a counter and the ticket key).
type line struct {
	pkg       *production.Package
	ticketKey *keys.PrivateKey
	signKey   *keys.PrivateKey
	tickets   *countingTickets
	registry  *memRegistry
}

// countingTickets plays the release server: it counts tickets against the
// package's authorised count and signs them.
type countingTickets struct {
	mu     sync.Mutex
	pkg    *production.Package
	key    crypto.Signer
	issued []production.Ticket
}

func (c *countingTickets) Take(_ context.Context, device string) ([]byte, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.pkg.Manifest
	if len(c.issued) >= m.Count {
		return nil, 0, fmt.Errorf("%w: authorised count reached: %d of %d tickets of order %s are issued", ErrRefused, len(c.issued), m.Count, m.Batch)
	}
	var id [16]byte
	rand.Read(id[:])
	t := production.Ticket{ID: hex.EncodeToString(id[:]), Package: c.pkg.ID, Product: m.Product, Batch: m.Batch,
		Seq: len(c.issued) + 1, Count: m.Count, Device: device, Issued: now, Expires: m.Expires}
	st, err := production.SignTicket(rand.Reader, t, c.key)
	if err != nil {
		return nil, 0, err
	}
	c.issued = append(c.issued, t)
	return st.Bytes(), m.Count - len(c.issued), nil
}

type memRegistry struct {
	mu      sync.Mutex
	devices map[string]provision.Record
}

func (r *memRegistry) Lookup(_ context.Context, id string) (*provision.Registered, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec, ok := r.devices[id]; ok {
		return &provision.Registered{Record: rec}, nil
	}
	return nil, nil
}

func (r *memRegistry) Register(_ context.Context, rec provision.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.devices[rec.DeviceID]; ok {
		return provision.ErrClone
	}
	r.devices[rec.DeviceID] = rec
	return nil
}

// newLine builds a package of count devices in the given image mode and
// opens it as the station.
func newLine(t testing.TB, count int, mode production.ImageMode) *line {
	t.Helper()
	return newLineWith(t, count, mode, production.DFU{})
}

// newLineWith is newLine for a package with USB DFU settings.
func newLineWith(t testing.TB, count int, mode production.ImageMode, dfu production.DFU) *line {
	t.Helper()
	ctx := context.Background()
	st := &storage.Memory{}
	v, err := vault.Create(ctx, st, "engineer passphrase", vault.Options{WorkFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	ca := pki.New(st, v, pki.Options{Now: func() time.Time { return now }})
	ca.InitRoot(ctx, pki.RootOptions{Organization: "Acme"})
	ca.AddIntermediate(ctx, pki.IntermediateOptions{Product: "thermo"})
	batch, err := ca.NewBatch(ctx, pki.BatchOptions{Product: "thermo", Batch: "line2", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := os.ReadFile("testdata/ed25519.pem")
	signKey, err := keys.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := bundle.KeyFingerprint(signKey.Public().Crypto())
	factory, _ := keys.Generate(rand.Reader, keys.X25519)
	fw := bytes.Repeat([]byte("thermo firmware "), 2048)
	// Boards with a fused boot key hash check the image's own PUBKEY
	// TLV against it, as MCUboot's hardware-key mode does.
	opts := mcuimg.SignOptions{Key: signKey, PublicKeyFormat: mcuimg.KeyFormatFull, Version: mcuimg.Version{Major: 1, Minor: 4},
		HeaderSize: 0x200, PadHeader: true, SecurityCounter: new(uint32)}
	*opts.SecurityCounter = 3
	if mode == production.ImageDevice {
		opts.EncryptTo, opts.Clear = factory.Public(), true
	}
	image, err := mcuimg.Sign(fw, &opts)
	if err != nil {
		t.Fatal(err)
	}
	station, _ := age.GenerateX25519Identity()
	signer, _ := signKey.Signer()
	var tfp bytes.Buffer
	_, err = production.Build(ctx, &tfp, production.BuildInput{
		Manifest: production.Manifest{Product: "thermo", Batch: "line2", Count: count, NotBefore: now.Add(-time.Hour),
			Expires: now.Add(7 * 24 * time.Hour), Release: production.Release{ID: bundle.Digest{7}, Version: "1.4.0"}, ImageMode: mode,
			Profile: production.Profile{BootKeyHash: fp, EncryptImages: mode == production.ImageDevice},
			CA:      batch.CA.Cert.Raw, Root: batch.Root.Raw, DFU: dfu},
		Image: image, CAKey: batch.Key, Stations: []bundle.Recipient{station.Recipient()}, Key: signer, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := production.Open(ctx, &tfp, production.OpenOptions{TrustedKeyIDs: []string{fp}, Identities: []age.Identity{station},
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := keys.Generate(rand.Reader, keys.Ed25519)
	tks, _ := tk.Signer()
	return &line{pkg: p, ticketKey: tk, signKey: signKey, tickets: &countingTickets{pkg: p, key: tks},
		registry: &memRegistry{devices: map[string]provision.Record{}}}
}

func (l *line) station() *Station {
	s := New(l.pkg, l.ticketKey.Public().Crypto(), l.tickets)
	s.Registry, s.Operator, s.Now = l.registry, "line2-station", func() time.Time { return now }
	return s
}

// board is a simulated board on a pipe, optionally running a factory
// test image (else blank, in serial recovery).
func board(t testing.TB, factory bool) (*sim.Board, *smp.Client) {
	t.Helper()
	b, err := sim.New(sim.Config{SlotSize: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if factory {
		img, err := mcuimg.Sign(bytes.Repeat([]byte("factory test "), 100), &mcuimg.SignOptions{Version: mcuimg.Version{Revision: 1}, PadHeader: true, HeaderSize: 0x200})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Program(img); err != nil {
			t.Fatal(err)
		}
	}
	host, dev := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		b.Serve(ctx, dev)
		dev.Close()
		close(done)
	}()
	c := smp.NewClient(smp.FromStream(host), &smp.Options{Timeout: 5 * time.Second})
	t.Cleanup(func() {
		c.Close()
		cancel()
		<-done
		b.Close()
	})
	return b, c
}

// TestOrderOfEight runs ten boards through an order of eight: eight are
// provisioned and flashed, the last two refused with nothing written.
func TestOrderOfEight(t *testing.T) {
	l := newLine(t, 8, production.ImageDevice)
	s := l.station()
	var results []*Result
	var boards []*sim.Board
	for i := range 10 {
		b, c := board(t, i%3 != 2) // some blank boards, most with a factory image
		boards = append(boards, b)
		results = append(results, s.Program(context.Background(), c, fmt.Sprintf("port%d", i), nil))
	}
	for i, r := range results {
		want := Done
		if i >= 8 {
			want = Refused
		}
		if r.State != want {
			t.Fatalf("board %d: %s (%s), want %s; steps %+v", i, r.State, r.Reason, want, r.Steps)
		}
		p := boards[i].Provisioning()
		running := boards[i].Running()
		if want == Refused {
			if !strings.Contains(r.Reason, "authorised count reached") || !strings.Contains(r.Reason, "nothing was written") {
				t.Errorf("board %d refused with %q", i, r.Reason)
			}
			if p.IDKey != nil || p.Chain != nil || p.BootKey != nil || p.EncKey != nil || p.Locked {
				t.Errorf("board %d was refused but its provisioning storage changed: %+v", i, p)
			}
			if running.Version.Major == 1 {
				t.Errorf("board %d was refused but runs the release", i)
			}
			continue
		}
		if !p.Locked || running.Version.Major != 1 || running.Version.Minor != 4 || !running.Confirmed {
			t.Errorf("board %d: locked %v, runs %v confirmed %v", i, p.Locked, running.Version, running.Confirmed)
		}
		chain, err := pki.ParseChain(p.Chain)
		if err != nil {
			t.Fatal(err)
		}
		st, ok, err := production.TicketOf(chain[0])
		if !ok || err != nil {
			t.Fatalf("board %d's certificate carries no ticket: %v", i, err)
		}
		tk, err := st.Verify(l.ticketKey.Public().Crypto())
		if err != nil || tk.Device != r.DeviceID || tk.Package != l.pkg.ID || tk.Seq != i+1 {
			t.Errorf("board %d's ticket %+v: %v", i, tk, err)
		}
		if r.Record == nil || r.Record.Outcome != "updated" {
			t.Errorf("board %d's record %+v", i, r.Record)
		}
	}
	if c := s.Counts(); c.Done != 8 || c.Refused != 2 || c.Failed != 0 || c.Remaining != 0 {
		t.Errorf("counts %+v, want 8 done, 2 refused, 0 remaining", c)
	}
	if len(l.tickets.issued) != 8 || len(l.registry.devices) != 8 {
		t.Errorf("%d tickets issued and %d devices registered, want 8", len(l.tickets.issued), len(l.registry.devices))
	}
}

// TestDeviceCopiesDiffer checks that in device mode each board with an
// application gets a copy of the image only it can decrypt.
func TestDeviceCopiesDiffer(t *testing.T) {
	l := newLine(t, 2, production.ImageDevice)
	s := l.station()
	var steps [][]Step
	for i := range 2 {
		_, c := board(t, true)
		r := s.Program(context.Background(), c, fmt.Sprintf("port%d", i), nil)
		if r.State != Done {
			t.Fatalf("board %d: %s %s", i, r.State, r.Reason)
		}
		steps = append(steps, r.Steps)
	}
	for i, ss := range steps {
		found := false
		for _, st := range ss {
			found = found || st.Name == "prepare" && strings.Contains(st.Detail, "encrypted to this board's key")
		}
		if !found {
			t.Errorf("board %d's image was not encrypted to it: %+v", i, ss)
		}
	}
}

func TestRefusals(t *testing.T) {
	t.Run("clear package", func(t *testing.T) {
		l := newLine(t, 1, production.ImageClear)
		_, c := board(t, true)
		if r := l.station().Program(context.Background(), c, "p", nil); r.State != Done {
			t.Fatalf("%s: %s", r.State, r.Reason)
		}
	})
	t.Run("locked board", func(t *testing.T) {
		l := newLine(t, 2, production.ImageDevice)
		s := l.station()
		_, c := board(t, true)
		if r := s.Program(context.Background(), c, "p", nil); r.State != Done {
			t.Fatal(r.Reason)
		}
		r := s.Program(context.Background(), c, "p", nil)
		if r.State != Refused || !strings.Contains(r.Reason, "already provisioned and locked") {
			t.Errorf("a locked board again: %s %q", r.State, r.Reason)
		}
		noPackagePrefix(t, r)
		if len(l.tickets.issued) != 1 {
			t.Errorf("%d tickets taken, want 1: a locked board takes none", len(l.tickets.issued))
		}
	})
	t.Run("forged ticket", func(t *testing.T) {
		l := newLine(t, 2, production.ImageDevice)
		s := l.station()
		other, _ := keys.Generate(rand.Reader, keys.Ed25519)
		s.TicketKey = other.Public().Crypto()
		b, c := board(t, true)
		r := s.Program(context.Background(), c, "p", nil)
		if r.State != Refused || !strings.Contains(r.Reason, "does not verify") {
			t.Errorf("a ticket under another key: %s %q", r.State, r.Reason)
		}
		noPackagePrefix(t, r)
		if p := b.Provisioning(); p.IDKey != nil {
			t.Error("a board with a forged ticket was written to")
		}
	})
	t.Run("expired order", func(t *testing.T) {
		l := newLine(t, 2, production.ImageDevice)
		s := l.station()
		s.Now = func() time.Time { return now.Add(8 * 24 * time.Hour) }
		_, c := board(t, true)
		if r := s.Program(context.Background(), c, "p", nil); r.State != Refused || len(l.tickets.issued) != 0 {
			t.Errorf("after expiry: %s %q, %d tickets", r.State, r.Reason, len(l.tickets.issued))
		}
	})
}

// noPackagePrefix fails t when a text people read of r (its reason, its
// steps' details) names a Go package, as error texts for programs do,
// or when its record lost the error's full text.
func noPackagePrefix(t *testing.T, r *Result) {
	t.Helper()
	texts := []string{r.Reason}
	for _, st := range r.Steps {
		texts = append(texts, st.Detail)
	}
	for _, s := range texts {
		for _, pkg := range []string{"station: ", "provision: ", "production: ", "smp: ", "fwupdate: "} {
			if strings.Contains(s, pkg) {
				t.Errorf("a text people read names package %q: %q", pkg, s)
			}
		}
	}
	if r.Record != nil && !strings.HasPrefix(r.Record.Reason, "station: ") {
		t.Errorf("the record's reason %q lost the error's full text", r.Record.Reason)
	}
}
