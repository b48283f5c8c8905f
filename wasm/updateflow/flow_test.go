package updateflow

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/devices/fwupdate"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
	"trustforge/wasm/client"
)

// simHardware is what the simulated board reports as its hardware.
const simHardware = "trustforge_sim"

// bench is a simulated board on a cable that a test can pull and plug
// back in: the Board of a Runner.
type bench struct {
	t *testing.T
	b *sim.Board

	mu      sync.Mutex
	c       *smp.Client
	unplug  func()
	plugged chan struct{} // closed and replaced at every plug
}

// newBench returns a board running version running, signed by bootKey;
// a board given a boot key boots only images it signed.
func newBench(t *testing.T, running string, bootKey *keys.PrivateKey) *bench {
	t.Helper()
	cfg := sim.Config{SlotSize: 256 << 10}
	if bootKey != nil {
		cfg.BootKeys = []*keys.PublicKey{bootKey.Public()}
	}
	b, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	bn := &bench{t: t, b: b, plugged: make(chan struct{})}
	if running != "" {
		if err := b.Program(mcuImage(t, running, bootKey, 8<<10)); err != nil {
			t.Fatal(err)
		}
	}
	bn.plug()
	t.Cleanup(bn.pull)
	return bn
}

func (bn *bench) plug() {
	host, dev := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		bn.b.Serve(ctx, dev)
		dev.Close()
	}()
	c := smp.NewClient(smp.FromStream(host), &smp.Options{Timeout: 2 * time.Second})
	bn.mu.Lock()
	bn.c = c
	bn.unplug = func() { cancel(); host.Close(); <-done; c.Close() }
	close(bn.plugged)
	bn.plugged = make(chan struct{})
	bn.mu.Unlock()
}

func (bn *bench) pull() {
	bn.mu.Lock()
	u := bn.unplug
	bn.c, bn.unplug = nil, nil
	bn.mu.Unlock()
	if u != nil {
		u()
	}
}

func (bn *bench) Client() (*smp.Client, error) {
	bn.mu.Lock()
	defer bn.mu.Unlock()
	if bn.c == nil {
		return nil, errors.New("unplugged")
	}
	return bn.c, nil
}

func (bn *bench) Next(ctx context.Context, old *smp.Client) (*smp.Client, error) {
	for {
		bn.mu.Lock()
		c, ch := bn.c, bn.plugged
		bn.mu.Unlock()
		if c != nil && c != old {
			return c, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// mcuImage makes an MCUboot image of version v, signed by key when not nil.
func mcuImage(t testing.TB, v string, key *keys.PrivateKey, size int) []byte {
	t.Helper()
	ver, err := mcuimg.ParseVersion(v)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i*3 + int(ver.Minor))
	}
	img, err := mcuimg.Sign(payload, &mcuimg.SignOptions{Key: key, Version: ver, HeaderSize: 0x200, PadHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// fixture is a product's keys and a technician's identity.
type fixture struct {
	releaseKey *keys.PrivateKey // signs manifests
	bootKey    *keys.PrivateKey // signs images; the board trusts it
	id         *age.X25519Identity
	keys       []client.Key
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	rk, err := keys.Generate(rand.Reader, keys.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	bk, err := keys.Generate(rand.Reader, keys.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{releaseKey: rk, bootKey: bk, id: id,
		keys: []client.Key{{Product: "thermo", PublicKey: string(rk.Public().MarshalPEM())}}}
}

// bundle builds a release of version v for hardware.
func (f *fixture) bundle(t *testing.T, v string, hardware ...string) []byte {
	t.Helper()
	img := mcuImage(t, v, f.bootKey, 48<<10)
	bv, err := bundle.ParseVersion(v)
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
	var out strings.Builder
	m := bundle.Manifest{Product: "thermo", Version: bv, Channel: "stable", Hardware: hardware}
	if _, err := bundle.Create(context.Background(), &out, strings.NewReader(string(img)), m,
		bundle.CreateOptions{Key: signer, To: bundle.Recipients{Keys: []bundle.Recipient{rcpt}}}); err != nil {
		t.Fatal(err)
	}
	return []byte(out.String())
}

func (f *fixture) source(tfb []byte) Source {
	return Source{Bundle: tfb, Keys: f.keys, Identities: []age.Identity{f.id}}
}

func runner(bn *bench, events *[]Event) *Runner {
	var mu sync.Mutex
	return &Runner{Board: bn, Transport: "serial", Technician: "tina", BootTimeout: 10 * time.Second,
		OnEvent: func(e Event) {
			mu.Lock()
			*events = append(*events, e)
			mu.Unlock()
		}}
}

func TestUpdate(t *testing.T) {
	f := newFixture(t)
	bn := newBench(t, "1.0.0", nil)
	ctx := context.Background()
	var events []Event
	r := runner(bn, &events)
	v, err := r.Verify(ctx, f.source(f.bundle(t, "1.1.0", "other_board", simHardware)))
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
	run := bn.b.Running()
	if run.Version != (mcuimg.Version{Major: 1, Minor: 1}) || !run.Confirmed {
		t.Errorf("the board runs %+v, want confirmed 1.1.0", run)
	}
	if rec.Outcome != fwupdate.Updated || rec.Version != "1.1.0" || rec.Board.FromVersion != "1.0.0" ||
		rec.Board.Hardware != simHardware || rec.Technician != "tina" || rec.Release == "" {
		t.Errorf("record %+v", rec)
	}
	var names []string
	for _, s := range rec.Steps {
		names = append(names, s.Name)
		if !s.OK {
			t.Errorf("step %s failed: %s", s.Name, s.Detail)
		}
	}
	want := []string{"verify", "check", "upload", "test boot", "check version", "confirm"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("steps %v, want %v", names, want)
	}
	if err := rec.Validate(); err != nil {
		t.Error(err)
	}
	var uploads int
	for _, e := range events {
		if e.Upload != nil {
			uploads++
		}
	}
	if uploads == 0 {
		t.Error("no upload progress was reported")
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	good := f.bundle(t, "1.1.0")
	tamperedPayload := append([]byte(nil), good...)
	tamperedPayload[len(tamperedPayload)-100] ^= 1
	// A byte of the manifest's signature, and one of its key ID.
	n := int(binary.BigEndian.Uint32(good[10:14]))
	badSignature := append([]byte(nil), good...)
	badSignature[bundle.HeaderSize+n-10] ^= 1
	badKeyID := append([]byte(nil), good...)
	badKeyID[bundle.HeaderSize+60] ^= 1
	tests := []struct {
		name    string
		running string
		src     Source
		step    Step
		want    error
		words   string
	}{
		{"downgrade", "1.2.0", f.source(good), StepCheck, fwupdate.ErrDowngrade, "newer than release 1.1.0"},
		{"same version", "1.1.0", f.source(good), StepCheck, fwupdate.ErrSameVersion, "already runs 1.1.0"},
		{"other hardware", "1.0.0", f.source(f.bundle(t, "1.1.0", "thermo_rev_a")), StepCheck, fwupdate.ErrWrongHardware,
			"for thermo_rev_a, but this board is " + simHardware},
		{"tampered payload", "1.0.0", f.source(tamperedPayload), StepVerify, bundle.ErrPayloadMismatch, "was changed or damaged"},
		{"tampered signature", "1.0.0", f.source(badSignature), StepVerify, bundle.ErrBadSignature, "changed after it was signed"},
		{"tampered key id", "1.0.0", f.source(badKeyID), StepVerify, bundle.ErrMalformed, "damaged or was changed"},
		{"signed by someone else", "1.0.0", f.source(other.bundle(t, "1.1.0")), StepVerify, bundle.ErrUntrustedKey, "not signed by any of the product's keys"},
		{"not for this technician", "1.0.0", Source{Bundle: good, Keys: f.keys, Identities: []age.Identity{other.id}}, StepVerify,
			bundle.ErrNoIdentity, "none of the age identities"},
		{"not a bundle", "1.0.0", f.source([]byte("hello, this is not a bundle")), StepVerify, bundle.ErrNotBundle, "not a complete trustforge release bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bn := newBench(t, tt.running, nil)
			before := bn.b.Running()
			ctx := context.Background()
			var events []Event
			r := runner(bn, &events)
			v, err := r.Verify(ctx, tt.src)
			if err == nil {
				err = r.Check(ctx, v)
			}
			if err == nil {
				t.Fatal("the release was accepted")
			}
			rec := r.Finish(err)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if rec.Outcome != fwupdate.Refused || !strings.Contains(rec.Reason, tt.words) {
				t.Errorf("record: %s, %q; want refused saying %q", rec.Outcome, rec.Reason, tt.words)
			}
			if goPrefix.MatchString(rec.Reason) {
				t.Errorf("the reason a technician reads carries a Go package prefix: %q", rec.Reason)
			}
			// What the bundle claims is reported when its manifest can be read.
			unreadable := map[string]bool{"tampered signature": true, "tampered key id": true, "not a bundle": true}
			if !unreadable[tt.name] && rec.Product != "thermo" {
				t.Errorf("the record names product %q, want the bundle's claim", rec.Product)
			}
			if last := rec.Steps[len(rec.Steps)-1]; last.Name != string(tt.step) || last.OK {
				t.Errorf("last step %+v, want %s failed", last, tt.step)
			}
			if after := bn.b.Running(); after.Version != before.Version || string(after.Hash) != string(before.Hash) {
				t.Errorf("the board changed: %+v, was %+v", after, before)
			}
		})
	}
}

func TestUploadResumesAfterReplug(t *testing.T) {
	f := newFixture(t)
	bn := newBench(t, "1.0.0", f.bootKey)
	ctx := context.Background()
	var (
		mu      sync.Mutex
		pulled  bool
		waiting bool
		cutAt   int64
		starts  []int64
	)
	r := &Runner{Board: bn, BootTimeout: 10 * time.Second, OnEvent: func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case e.Upload != nil && !pulled && e.Upload.Offset > e.Upload.Total/2:
			pulled, cutAt = true, e.Upload.Offset
			go bn.pull()
		case e.Upload != nil:
			if len(starts) == 0 || e.Upload.Start != starts[len(starts)-1] {
				starts = append(starts, e.Upload.Start)
			}
		case e.Unplugged && !waiting:
			waiting = true
			go bn.plug()
		}
	}}
	v, err := r.Verify(ctx, f.source(f.bundle(t, "1.1.0")))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := r.Flash(ctx, v); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !waiting {
		t.Fatal("the flow never waited for the board")
	}
	if len(starts) < 2 || starts[len(starts)-1] < cutAt/2 || starts[len(starts)-1] == 0 {
		t.Errorf("upload starts %v, want the last one resuming near %d", starts, cutAt)
	}
	rec := r.Finish(nil)
	if !strings.Contains(rec.Steps[2].Detail, "resumed 1 time") {
		t.Errorf("upload step %+v", rec.Steps[2])
	}
	if run := bn.b.Running(); run.Version != (mcuimg.Version{Major: 1, Minor: 1}) || !run.Confirmed {
		t.Errorf("the board runs %+v", run)
	}
}

// goPrefix matches a Go package's name where an error text for programs
// puts it: at the start, or at the start of a quoted cause.
var goPrefix = regexp.MustCompile(`(^|\()(bundle|fwupdate|release|updateflow|age): `)
