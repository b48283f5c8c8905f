package updateflow

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"trustforge/crypto/bundle"
	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
	"trustforge/devices/fwupdate"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
)

// espBench is a simulated ESP32-C3 on a USB-UART bridge a test can pull
// and plug back in: the ESPLink of an ESP kind.
type espBench struct {
	b *sim.ESPBoard

	mu      sync.Mutex
	plugged bool
	back    chan struct{} // closed at the next plug
	cur     *espCable
}

type espCable struct {
	smp.Transport
	b      *sim.ESPBoard
	host   net.Conn
	cancel func()
	done   chan struct{}
}

func (c *espCable) SetLines(_ context.Context, dtr, rts bool) error {
	c.b.SetLines(dtr, rts)
	return nil
}

func (c *espCable) Close() error {
	c.cancel()
	c.host.Close()
	<-c.done
	return nil
}

func newESPBench(t *testing.T, b *sim.ESPBoard) *espBench {
	eb := &espBench{b: b, plugged: true, back: make(chan struct{})}
	t.Cleanup(eb.pull)
	return eb
}

func (eb *espBench) Open(ctx context.Context) (esprom.Transport, error) {
	for {
		eb.mu.Lock()
		ok, back := eb.plugged, eb.back
		eb.mu.Unlock()
		if ok {
			break
		}
		select {
		case <-back:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	host, dev := net.Pipe()
	sctx, cancel := context.WithCancel(context.Background())
	c := &espCable{Transport: smp.FromStream(host), b: eb.b, host: host, cancel: cancel, done: make(chan struct{})}
	go func() { eb.b.Serve(sctx, dev); dev.Close(); close(c.done) }()
	eb.mu.Lock()
	eb.cur = c
	eb.mu.Unlock()
	return c, nil
}

// pull takes the cable out: the link breaks and Open waits.
func (eb *espBench) pull() {
	eb.mu.Lock()
	c := eb.cur
	eb.plugged, eb.cur = false, nil
	eb.mu.Unlock()
	if c != nil {
		c.host.Close()
	}
}

func (eb *espBench) plug() {
	eb.mu.Lock()
	defer eb.mu.Unlock()
	if !eb.plugged {
		eb.plugged = true
		close(eb.back)
		eb.back = make(chan struct{})
	}
}

// espSet builds a flash set for the ESP32-C3: bootloader, partition table
// (nvs, factory app) and an app of version, signed by signer when not nil.
func espSet(t *testing.T, version string, appSize int, signer crypto.Signer) (parts []bundle.Part, data []byte) {
	t.Helper()
	bl, err := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x403C0000},
		espimg.Segment{Addr: 0x403C0000, Data: make([]byte, 3000)})
	if err != nil {
		t.Fatal(err)
	}
	pt, err := espimg.BuildPartitionTable([]espimg.Partition{
		{Type: espimg.PartTypeData, SubType: 2, Offset: 0x9000, Size: 0x6000, Label: "nvs"},
		{Type: espimg.PartTypeApp, SubType: espimg.PartSubFactory, Offset: 0x10000, Size: 0x100000, Label: "factory"},
	})
	if err != nil {
		t.Fatal(err)
	}
	code := make([]byte, appSize)
	rand.Read(code)
	app, err := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x42000020},
		espimg.Segment{Addr: 0x3C000020, Data: espimg.MarshalAppDesc(espimg.AppDesc{Version: version, ProjectName: "pump-ctl"})},
		espimg.Segment{Addr: 0x42000020, Data: code})
	if err != nil {
		t.Fatal(err)
	}
	if signer != nil {
		if bl, err = espimg.Sign(rand.Reader, bl, signer); err != nil {
			t.Fatal(err)
		}
		if app, err = espimg.Sign(rand.Reader, app, signer); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct {
		name string
		off  uint32
		b    []byte
	}{{"bootloader", 0, bl}, {"partition-table", 0x8000, pt}, {"app", 0x10000, app}} {
		parts = append(parts, bundle.Part{Name: p.name, Offset: p.off, Size: int64(len(p.b)), Encrypt: p.name != "partition-table"})
		data = append(data, p.b...)
	}
	return parts, data
}

// flashSet makes a flash-set release of the fixture's product.
func (f *fixture) flashSet(t *testing.T, version string, parts []bundle.Part, data []byte, hardware ...string) []byte {
	t.Helper()
	bv, err := bundle.ParseVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := f.releaseKey.Signer()
	if err != nil {
		t.Fatal(err)
	}
	rcpt, err := bundle.ParseRecipient(f.id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	m := bundle.Manifest{Product: "thermo", Version: bv, Channel: "stable", Hardware: hardware,
		ImageFormat: bundle.ImageFormatESPFlashSet, Parts: parts}
	if _, err := bundle.Create(context.Background(), &out, bytes.NewReader(data), m,
		bundle.CreateOptions{Key: signer, To: bundle.Recipients{Keys: []bundle.Recipient{rcpt}}}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// burnSecureBoot burns key's Secure Boot v2 digest and SECURE_BOOT_EN, as
// the Devices page does.
func burnSecureBoot(t *testing.T, eb *espBench, key crypto.Signer) {
	t.Helper()
	ctx := context.Background()
	tr, err := eb.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.(*espCable).Close()
	c := esprom.New(tr, esprom.Options{})
	defer c.Close()
	if _, err := c.Connect(ctx, esprom.ResetClassic); err != nil {
		t.Fatal(err)
	}
	d, err := espimg.KeyDigest(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, plan := range []func(*esprom.Efuses) (*esprom.Burn, error){
		func(ef *esprom.Efuses) (*esprom.Burn, error) {
			return esprom.PlanKey(ef, esprom.PurposeSecureBootDigest, d[:], false)
		},
		esprom.PlanSecureBoot,
	} {
		ef, err := c.ReadEfuses(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := plan(ef)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.BurnEfuses(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUpdateESP32 updates an ESP32-C3 with Secure Boot on from a signed
// flash-set release: the signatures are checked against the board's
// digests before anything is written, the parts are written and checked by
// MD5, the chip restarts and its boot log shows the new version. The link
// is pulled half way through the app: the write starts again from the app
// once the board is back, and the board never boots the half-written app.
// An unsigned set, and one for another chip, are refused before anything
// is written.
func TestUpdateESP32(t *testing.T) {
	f := newFixture(t)
	key, err := espimg.GenerateKey(rand.Reader, espimg.RSA3072)
	if err != nil {
		t.Fatal(err)
	}
	b := sim.NewESPBoard(sim.ESPConfig{RunAtStart: true})
	eb := newESPBench(t, b)
	burnSecureBoot(t, eb, key)
	ctx := context.Background()

	// Refused: unsigned, and for another chip.
	parts, data := espSet(t, "2.1.0", 30000, nil)
	for _, tt := range []struct {
		name string
		tfb  []byte
		want error
		says string
	}{
		{"unsigned", f.flashSet(t, "2.1.0", parts, data), ErrUnsigned, "bootloader is not signed"},
		{"other chip", f.flashSet(t, "2.1.0", parts, data, "esp32s3"), fwupdate.ErrWrongHardware, "this board is an ESP32-C3"},
		{"mcuboot", f.bundle(t, "2.1.0"), ErrWrongFormat, "is an MCUboot image"},
	} {
		var events []Event
		r := runner(nil, &events)
		r.Kind = &ESP{Link: eb}
		v, err := r.Verify(ctx, f.source(tt.tfb))
		if err != nil {
			t.Fatal(err)
		}
		err = r.Check(ctx, v)
		rec := r.Finish(err)
		if !errors.Is(err, tt.want) || rec.Outcome != fwupdate.Refused || !strings.Contains(rec.Reason, tt.says) {
			t.Errorf("%s: %v; record %s %q", tt.name, err, rec.Outcome, rec.Reason)
		}
	}
	if n := b.FlashWrites(); n != 0 {
		t.Fatalf("%d flash writes before a release was accepted", n)
	}

	parts, data = espSet(t, "2.1.0", 120000, key)
	var (
		mu       sync.Mutex
		pulled   bool
		waiting  bool
		bootedAt ESPBootSeen
	)
	var events []Event
	r := &Runner{Technician: "tina", Kind: &ESP{Link: eb}, OnEvent: func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
		switch {
		case e.Upload != nil && !pulled && e.Upload.Offset > e.Upload.Total*2/3:
			pulled = true
			eb.pull()
		case e.Unplugged && !waiting:
			waiting = true
			// Power-cycled with the cable out, it must not boot a partial app.
			b.PowerCycle(false)
			boot, _ := b.LastBoot()
			bootedAt = ESPBootSeen{OK: boot.OK, Reason: boot.Reason}
			eb.plug()
		}
	}}
	v, err := r.Verify(ctx, f.source(f.flashSet(t, "2.1.0", parts, data, "ESP32-C3")))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := r.Flash(ctx, v); err != nil {
		t.Fatal(err)
	}
	rec := r.Finish(nil)
	if got, want := stepNames(rec), "verify,check,upload,test boot,check version"; got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
	if rec.Outcome != fwupdate.Updated || rec.Board.Node != "58:cf:79:00:00:01" || rec.Board.Hardware != "ESP32-C3" {
		t.Errorf("record %+v", rec)
	}
	mu.Lock()
	defer mu.Unlock()
	if !waiting {
		t.Fatal("the link was never pulled")
	}
	if bootedAt.OK {
		t.Error("the board booted with a half-written app")
	}
	if !strings.Contains(rec.Steps[1].Detail, "signatures verify") {
		t.Errorf("check step %+v", rec.Steps[1])
	}
	if !strings.Contains(rec.Steps[2].Detail, "started again 1 time(s)") {
		t.Errorf("upload step %+v", rec.Steps[2])
	}
	if !strings.Contains(rec.Steps[4].Detail, "pump-ctl 2.1.0") {
		t.Errorf("running step %+v", rec.Steps[4])
	}
	boot, _ := b.LastBoot()
	if !boot.OK || boot.App.Version != "2.1.0" || !boot.SecureBoot {
		t.Errorf("the board's last boot %+v", boot)
	}

	// The same release again: the flash holds it already.
	r2 := runner(nil, &events)
	r2.Kind = &ESP{Link: eb}
	v2, err := r2.Verify(ctx, f.source(f.flashSet(t, "2.1.0", parts, data)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Check(ctx, v2); !errors.Is(err, fwupdate.ErrSameVersion) {
		t.Errorf("the same release again: %v", err)
	}
	r2.Finish(err)
}

// ESPBootSeen is what a boot did, seen from the test.
type ESPBootSeen struct {
	OK     bool
	Reason string
}
