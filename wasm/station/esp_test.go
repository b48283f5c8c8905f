package station

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/espimg"
	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/crypto/vault"
	"trustforge/devices/esprom"
	"trustforge/devices/provision"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
	"trustforge/wasm/storage"
)

// newESPLine builds a package of count ESP32-C3 boards programming a flash
// set (bootloader, partition table, app 3.0.1) and opens it as the station.
func newESPLine(t testing.TB, count int) *line {
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

	bl, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x403C0000}, espimg.Segment{Addr: 0x403C0000, Data: make([]byte, 3000)})
	pt, _ := espimg.BuildPartitionTable([]espimg.Partition{{Type: espimg.PartTypeApp, SubType: espimg.PartSubFactory, Offset: 0x10000, Size: 0x100000, Label: "factory"}})
	code := make([]byte, 40000)
	rand.Read(code)
	app, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x42000020},
		espimg.Segment{Addr: 0x3C000020, Data: espimg.MarshalAppDesc(espimg.AppDesc{Version: "3.0.1", ProjectName: "pump-ctl"})},
		espimg.Segment{Addr: 0x42000020, Data: code})
	var image []byte
	var parts []bundle.Part
	for _, p := range []struct {
		name string
		off  uint32
		b    []byte
	}{{"bootloader", 0, bl}, {"partition-table", 0x8000, pt}, {"app", 0x10000, app}} {
		parts = append(parts, bundle.Part{Name: p.name, Offset: p.off, Size: int64(len(p.b)), SHA256: sha256.Sum256(p.b)})
		image = append(image, p.b...)
	}
	station, _ := age.GenerateX25519Identity()
	signer, _ := signKey.Signer()
	var tfp bytes.Buffer
	_, err = production.Build(ctx, &tfp, production.BuildInput{
		Manifest: production.Manifest{Product: "thermo", Batch: "line2", Count: count, NotBefore: now.Add(-time.Hour),
			Expires: now.Add(7 * 24 * time.Hour), ImageMode: production.ImageClear,
			Release: production.Release{ID: bundle.Digest{7}, Version: "3.0.1", ImageFormat: bundle.ImageFormatESPFlashSet, Parts: parts},
			CA:      batch.CA.Cert.Raw, Root: batch.Root.Raw},
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

// espPort is a simulated ESP32-C3 on a production port.
type espPort struct {
	b *sim.ESPBoard

	mu   sync.Mutex
	stop []func()
}

type espWire struct {
	smp.Transport
	b *sim.ESPBoard
}

func (w espWire) SetLines(_ context.Context, dtr, rts bool) error {
	w.b.SetLines(dtr, rts)
	return nil
}

func (p *espPort) Label() string               { return "USB 303a:1001" }
func (p *espPort) USB() (bool, uint16, uint16) { return true, 0x303a, 0x1001 }
func (p *espPort) Open(context.Context, int) (smp.Transport, error) {
	host, dev := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.b.Serve(ctx, dev); dev.Close(); close(done) }()
	p.mu.Lock()
	p.stop = append(p.stop, func() { cancel(); host.Close(); <-done })
	p.mu.Unlock()
	return espWire{Transport: smp.FromStream(host), b: p.b}, nil
}

func (p *espPort) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.stop {
		s()
	}
}

var _ esprom.Lines = espWire{}

// TestESP32Order runs three ESP32-C3 boards through an order of two: each
// of the first two takes a ticket bound to its MAC, gets the flash set and
// boots its app; the third is refused with nothing written.
func TestESP32Order(t *testing.T) {
	l := newESPLine(t, 2)
	s := l.station()
	var ports []Port
	var boards []*sim.ESPBoard
	for i := range 3 {
		b := sim.NewESPBoard(sim.ESPConfig{RunAtStart: true, MAC: net.HardwareAddr{0x58, 0xcf, 0x79, 0, 0, byte(i + 1)}})
		p := &espPort{b: b}
		t.Cleanup(p.close)
		ports, boards = append(ports, p), append(boards, b)
	}
	results := s.ProgramPorts(context.Background(), ports, RunOptions{})
	if len(results) != 3 {
		t.Fatalf("%d results", len(results))
	}
	for i, r := range results {
		boot, _ := boards[i].LastBoot()
		mac := hex.EncodeToString(net.HardwareAddr{0x58, 0xcf, 0x79, 0, 0, byte(i + 1)})
		if i < 2 {
			if r.State != Done || r.DeviceID != mac || r.Ticket == nil || r.Ticket.Device != mac {
				t.Errorf("board %d: %s %q, device %s, ticket %+v", i+1, r.State, r.Reason, r.DeviceID, r.Ticket)
			}
			if !boot.OK || boot.App.Version != "3.0.1" {
				t.Errorf("board %d boots %+v", i+1, boot)
			}
			var names []string
			for _, st := range r.Steps {
				names = append(names, st.Name)
			}
			if got := strings.Join(names, ","); got != "info,ticket,upload,boot,running" {
				t.Errorf("board %d steps %s", i+1, got)
			}
			if err := r.Record.Validate(); err != nil || r.Record.Board.Node != mac {
				t.Errorf("board %d record %+v: %v", i+1, r.Record, err)
			}
			continue
		}
		if r.State != Refused || !strings.Contains(r.Reason, "authorised count reached") || boards[i].FlashWrites() != 0 {
			t.Errorf("board %d: %s %q, %d flash writes", i+1, r.State, r.Reason, boards[i].FlashWrites())
		}
	}
	if c := s.Counts(); c.Done != 2 || c.Refused != 1 || c.Remaining != 0 {
		t.Errorf("counts %+v", c)
	}
}
