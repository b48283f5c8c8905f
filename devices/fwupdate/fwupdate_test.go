package fwupdate

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/mcuimg"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
)

// image returns an unsigned MCUboot image of version v (the simulated
// board is unprovisioned: any image with a valid hash boots).
func image(t testing.TB, v string, size int) []byte {
	t.Helper()
	ver, err := mcuimg.ParseVersion(v)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i*7 + int(ver.Minor))
	}
	img, err := mcuimg.Sign(payload, &mcuimg.SignOptions{Version: ver, HeaderSize: 0x200, PadHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func imageHash(t testing.TB, img []byte) []byte {
	t.Helper()
	im, err := mcuimg.Parse(img)
	if err != nil {
		t.Fatal(err)
	}
	_, h, ok := im.Hash()
	if !ok {
		t.Fatal("image has no hash")
	}
	return h
}

// newBoard returns a simulated board running the image of version v.
func newBoard(t testing.TB, v string) *sim.Board {
	t.Helper()
	b, err := sim.New(sim.Config{SlotSize: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Program(image(t, v, 16<<10)); err != nil {
		t.Fatal(err)
	}
	return b
}

// connect plugs a client into the board through an in-memory cable; the
// returned function pulls the cable.
func connect(t testing.TB, b *sim.Board) (*smp.Client, func()) {
	t.Helper()
	host, dev := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Serve(ctx, dev)
		dev.Close()
	}()
	c := smp.NewClient(smp.FromStream(host), &smp.Options{Timeout: 2 * time.Second})
	unplug := func() {
		cancel()
		host.Close()
		<-done
	}
	t.Cleanup(func() { c.Close(); unplug() })
	return c, unplug
}

func TestReadSummary(t *testing.T) {
	b := newBoard(t, "1.2.3")
	c, _ := connect(t, b)
	s, err := ReadSummary(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if s.Bootloader != "MCUboot" || s.BootMode != smp.BootModeSwapMove {
		t.Errorf("bootloader %q mode %v, want MCUboot swap without scratch", s.Bootloader, s.BootMode)
	}
	if s.Params.BufSize == 0 || s.Params.BufCount == 0 {
		t.Errorf("params %+v, want the board's buffers", s.Params)
	}
	if s.Hardware == "" || s.Node == "" || s.OS == "" {
		t.Errorf("hardware %q node %q os %q: want all three", s.Hardware, s.Node, s.OS)
	}
	run, ok := s.Running(0)
	if !ok || run.Version != "1.2.3" || !run.Confirmed {
		t.Errorf("running %+v, want confirmed 1.2.3", run)
	}
	if len(s.Notes) != 0 {
		t.Errorf("notes %v, want none from a board that answers everything", s.Notes)
	}
}

func manifest(t *testing.T, version string, hardware ...string) *bundle.Manifest {
	t.Helper()
	v, err := bundle.ParseVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle.Manifest{Product: "thermo", Version: v, Hardware: hardware}
}

func TestCheck(t *testing.T) {
	board := func(version string, confirmed bool, other *smp.SlotImage) *Summary {
		s := &Summary{Hardware: "thermo_rev_b", Slots: []smp.SlotImage{{Slot: 0, Version: version, Active: true, Confirmed: confirmed, Bootable: true}}}
		if other != nil {
			s.Slots = append(s.Slots, *other)
		}
		return s
	}
	tests := []struct {
		name  string
		m     *bundle.Manifest
		s     *Summary
		opts  CheckOptions
		want  error
		words string
	}{
		{"newer", manifest(t, "1.3.0", "thermo_rev_b"), board("1.2.0", true, nil), CheckOptions{}, nil, ""},
		{"newer, any hardware", manifest(t, "1.3.0"), board("1.2.0", true, nil), CheckOptions{}, nil, ""},
		{"newer build", manifest(t, "1.2.0+5"), board("1.2.0.4", true, nil), CheckOptions{}, nil, ""},
		{"older", manifest(t, "1.1.9"), board("1.2.0", true, nil), CheckOptions{}, ErrDowngrade, "board runs 1.2.0, newer than release 1.1.9"},
		{"older build", manifest(t, "1.2.0+3"), board("1.2.0.4", true, nil), CheckOptions{}, ErrDowngrade, "downgrades are not allowed"},
		{"pre-release below release", manifest(t, "1.2.0-rc.1"), board("1.2.0", true, nil), CheckOptions{}, ErrDowngrade, ""},
		{"same", manifest(t, "1.2.0"), board("1.2.0", true, nil), CheckOptions{}, ErrSameVersion, "already runs 1.2.0"},
		{"same allowed", manifest(t, "1.2.0"), board("1.2.0", true, nil), CheckOptions{AllowSameVersion: true}, nil, ""},
		{"other hardware", manifest(t, "1.3.0", "thermo_rev_a", "thermo_rev_c"), board("1.2.0", true, nil), CheckOptions{},
			ErrWrongHardware, "for thermo_rev_a or thermo_rev_c, but this board is thermo_rev_b"},
		{"unknown hardware", manifest(t, "1.3.0", "thermo_rev_b"), &Summary{Slots: board("1.2.0", true, nil).Slots}, CheckOptions{},
			ErrUnknownHardware, "does not report its hardware"},
		{"recovery", manifest(t, "1.3.0"), &Summary{Hardware: "x"}, CheckOptions{}, ErrNoRunningImage, "serial recovery"},
		{"recovery allowed", manifest(t, "1.3.0"), &Summary{Hardware: "x"}, CheckOptions{AllowRecovery: true}, nil, ""},
		{"pending test", manifest(t, "1.3.0"), board("1.2.0", true, &smp.SlotImage{Slot: 1, Version: "1.2.5", Pending: true}), CheckOptions{},
			ErrPending, "waiting to be tested"},
		{"unconfirmed test image", manifest(t, "1.3.0"), board("1.2.5", false, &smp.SlotImage{Slot: 1, Version: "1.2.0"}), CheckOptions{},
			ErrPending, "neither confirmed nor reverted"},
		{"old image in the other slot", manifest(t, "1.3.0"), board("1.2.0", true, &smp.SlotImage{Slot: 1, Version: "1.1.0"}), CheckOptions{}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.m, tt.s, tt.opts)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
			if err == nil {
				return
			}
			var r *Refusal
			if !errors.As(err, &r) {
				t.Fatalf("Check = %T, want a *Refusal", err)
			}
			if !strings.Contains(r.Reason, tt.words) {
				t.Errorf("reason %q does not say %q", r.Reason, tt.words)
			}
		})
	}
}

func TestParseBoardVersion(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"1.2.3", "1.2.3", true},
		{"1.2.3.4", "1.2.3+4", true},
		{"0.0.0.0", "0.0.0", true},
		{"255.255.65535.4294967295", "255.255.65535+4294967295", true},
		{"1.2", "", false},
		{"1.2.3.4.5", "", false},
		{"1.x.3", "", false},
		{"-1.2.3", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		v, err := ParseBoardVersion(tt.in)
		if (err == nil) != tt.ok || (tt.ok && v.String() != tt.want) {
			t.Errorf("ParseBoardVersion(%q) = %v, %v; want %q ok=%v", tt.in, v, err, tt.want, tt.ok)
		}
	}
}

func TestFlashTestConfirm(t *testing.T) {
	ctx := context.Background()
	b := newBoard(t, "1.0.0")
	c, _ := connect(t, b)
	img := image(t, "1.1.0", 40<<10)
	hash := imageHash(t, img)

	var last smp.UploadProgress
	res, err := Upload(ctx, c, img, 0, func(p smp.UploadProgress) { last = p })
	if err != nil {
		t.Fatal(err)
	}
	if !res.Checked || last.Offset != int64(len(img)) {
		t.Errorf("upload result %+v, last progress %+v: want a checked, complete upload", res, last)
	}
	if err := TestBoot(ctx, c, hash); err != nil {
		t.Fatal(err)
	}
	if err := Reset(ctx, c, 10*time.Second, NothingPending); err != nil {
		t.Fatal(err)
	}
	run, err := CheckRunning(ctx, c, 0, hash)
	if err != nil {
		t.Fatal(err)
	}
	if run.Version != "1.1.0" || run.Confirmed {
		t.Errorf("after the test boot the board runs %+v, want unconfirmed 1.1.0", run)
	}
	if run, err = Confirm(ctx, c, 0); err != nil {
		t.Fatal(err)
	}
	if !run.Confirmed {
		t.Errorf("after confirming: %+v", run)
	}
	// Confirmed: a reset keeps the new image.
	boots := b.Running().Boots
	if err := Reset(ctx, c, 10*time.Second, func([]smp.SlotImage) bool { return b.Running().Boots > boots }); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckRunning(ctx, c, 0, hash); err != nil {
		t.Errorf("after a second reset: %v", err)
	}
}

func TestUnconfirmedImageReverts(t *testing.T) {
	ctx := context.Background()
	b := newBoard(t, "1.0.0")
	c, _ := connect(t, b)
	img := image(t, "1.1.0", 8<<10)
	if _, err := Upload(ctx, c, img, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := TestBoot(ctx, c, imageHash(t, img)); err != nil {
		t.Fatal(err)
	}
	if err := Reset(ctx, c, 10*time.Second, NothingPending); err != nil {
		t.Fatal(err)
	}
	// Not confirmed: the next reset goes back.
	boots := b.Running().Boots
	if err := Reset(ctx, c, 10*time.Second, func([]smp.SlotImage) bool { return b.Running().Boots > boots }); err != nil {
		t.Fatal(err)
	}
	_, err := CheckRunning(ctx, c, 0, imageHash(t, img))
	if !errors.Is(err, ErrNotBooted) || !strings.Contains(err.Error(), "still runs version 1.0.0") {
		t.Errorf("CheckRunning after a revert = %v, want ErrNotBooted naming 1.0.0", err)
	}
}

func TestUploadResumesAfterUnplug(t *testing.T) {
	ctx := context.Background()
	b := newBoard(t, "1.0.0")
	c, unplug := connect(t, b)
	img := image(t, "1.1.0", 100<<10)

	// Pull the cable once a third of the image is on the board.
	uctx, cancel := context.WithCancel(ctx)
	var cutAt int64
	_, err := Upload(uctx, c, img, 0, func(p smp.UploadProgress) {
		if cutAt == 0 && p.Offset > int64(len(img))/3 {
			cutAt = p.Offset
			unplug()
			cancel()
		}
	})
	cancel()
	if err == nil {
		t.Fatal("the upload finished through a pulled cable")
	}
	c.Close()

	c2, _ := connect(t, b)
	res, err := Upload(ctx, c2, img, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Start < cutAt || res.Start == 0 {
		t.Errorf("the second upload started at %d, want at least %d (where the cable was pulled)", res.Start, cutAt)
	}
	if !res.Checked {
		t.Error("the board did not confirm the resumed upload's SHA-256")
	}
}

func TestRecord(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r, err := NewRecord(strings.NewReader(strings.Repeat("\x01", 16)), start)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != strings.Repeat("01", 16) {
		t.Errorf("id %q", r.ID)
	}
	r.Product, r.Version, r.Technician = "thermo", "1.3.0", "tina"
	r.Step("upload", start, start.Add(1500*time.Millisecond), nil, "40960 bytes")
	r.Step("test boot", start, start.Add(time.Second), errors.New("no answer"), "")
	r.Finish(Failed, "no answer", start.Add(3*time.Second))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	text := r.Text()
	for _, want := range []string{"Outcome:      failed", "Technician:   tina", "ok   upload", "FAIL test boot", "no answer"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}

	bad := []func(r *Record){
		func(r *Record) { r.ID = "xyz" },
		func(r *Record) { r.ID = strings.Repeat("zz", 16) },
		func(r *Record) { r.Outcome = "exploded" },
		func(r *Record) { r.Finished = r.Started.Add(-time.Second) },
		func(r *Record) { r.Product = strings.Repeat("p", MaxFieldLen+1) },
		func(r *Record) { r.Reason = "\xff" },
		func(r *Record) { r.Steps = append(r.Steps, Step{}) },
		func(r *Record) { r.Steps = make([]Step, MaxSteps+1) },
		func(r *Record) { r.Component = 300 },
	}
	for i, f := range bad {
		c := *r
		c.Steps = append([]Step(nil), r.Steps...)
		f(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("case %d: Validate = %v, want ErrInvalidRecord", i, err)
		}
	}
}
