package updateflow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"trustforge/crypto/mcuimg"
	"trustforge/devices/dfu"
	"trustforge/devices/fwupdate"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
)

// usbBench is a simulated USB DFU device on a cable: the DFULink of a
// DFUSlot or DfuSe kind. The application's SMP interface, when the board
// runs one, is the simulated board's SMP server.
type usbBench struct {
	usb   *sim.USB
	board *sim.Board // nil for a DfuSe bootloader

	mu    sync.Mutex
	stops []func()
}

func newUSBBench(t *testing.T, u *sim.USB, b *sim.Board) *usbBench {
	ub := &usbBench{usb: u, board: b}
	t.Cleanup(func() {
		ub.mu.Lock()
		defer ub.mu.Unlock()
		for _, s := range ub.stops {
			s()
		}
	})
	return ub
}

func (ub *usbBench) DFU(ctx context.Context) (dfu.Control, *dfu.Description, error) {
	c, err := ub.usb.Find(ctx)
	if err != nil {
		return nil, nil, err
	}
	return dfu.EnterDFU(ctx, c, ub.usb.Find)
}

// runtime reports whether the device is present with its application's
// SMP (vendor) interface.
func (ub *usbBench) runtime() bool {
	if ub.board == nil || !ub.usb.Present() {
		return false
	}
	for _, a := range ub.usb.Info().Alternates {
		if a.Class == 0xff {
			return true
		}
	}
	return false
}

func (ub *usbBench) App(ctx context.Context, wait bool) (*smp.Client, error) {
	for !ub.runtime() {
		if !wait {
			return nil, fmt.Errorf("%w: the device is in DFU mode", ErrNoApp)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	host, dev := net.Pipe()
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ub.board.Serve(sctx, dev); dev.Close(); close(done) }()
	c := smp.NewClient(smp.FromStream(host), &smp.Options{Timeout: 2 * time.Second})
	ub.mu.Lock()
	ub.stops = append(ub.stops, func() { cancel(); host.Close(); <-done; c.Close() })
	ub.mu.Unlock()
	return c, nil
}

func newZephyr(t *testing.T, running string, cfg sim.ZephyrDFUConfig) (*sim.Board, *sim.ZephyrDFU) {
	t.Helper()
	b, err := sim.New(sim.Config{SlotSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Program(mcuImage(t, running, nil, 8<<10)); err != nil {
		t.Fatal(err)
	}
	return b, sim.NewZephyrDFU(b, cfg)
}

func stepNames(rec *fwupdate.Record) string {
	var names []string
	for _, s := range rec.Steps {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// TestUpdateDFUSlot updates a Zephyr board with the USB DFU class: the
// check reads its summary over its SMP interface, the image goes into
// image-1 over DFU and is read back, the reset test-boots it and the
// application confirms it.
func TestUpdateDFUSlot(t *testing.T) {
	f := newFixture(t)
	b, z := newZephyr(t, "1.0.0", sim.ZephyrDFUConfig{})
	ctx := context.Background()
	var events []Event
	r := runner(nil, &events)
	r.Board, r.Kind = nil, &DFUSlot{Link: newUSBBench(t, z.USB, b), BootTimeout: 10 * time.Second}
	v, err := r.Verify(ctx, f.source(f.bundle(t, "1.1.0", simHardware)))
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
	if run := b.Running(); run.Version != (mcuimg.Version{Major: 1, Minor: 1}) || !run.Confirmed {
		t.Errorf("the board runs %+v, want 1.1.0 confirmed", run)
	}
	if rec.Outcome != fwupdate.Updated || rec.Board.FromVersion != "1.0.0" || rec.Board.Hardware != simHardware {
		t.Errorf("record %+v", rec)
	}
	if got, want := stepNames(rec), "verify,check,upload,test boot,check version,confirm"; got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
	if !strings.Contains(rec.Steps[2].Detail, "into image-1") || !strings.Contains(rec.Steps[2].Detail, "read back and compared") {
		t.Errorf("upload step %+v", rec.Steps[2])
	}
}

// TestUpdateDFUSlotFromDFUMode checks a board that is already in DFU mode
// by slot 0's MCUboot header, and refuses a downgrade before writing.
func TestUpdateDFUSlotFromDFUMode(t *testing.T) {
	f := newFixture(t)
	b, z := newZephyr(t, "1.2.0", sim.ZephyrDFUConfig{})
	ub := newUSBBench(t, z.USB, b)
	ctx := context.Background()
	if _, _, err := ub.DFU(ctx); err != nil { // detach it into DFU mode
		t.Fatal(err)
	}
	var events []Event
	r := runner(nil, &events)
	r.Board, r.Kind = nil, &DFUSlot{Link: ub}
	v, err := r.Verify(ctx, f.source(f.bundle(t, "1.1.0")))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Check(ctx, v)
	if !errors.Is(err, fwupdate.ErrDowngrade) {
		t.Fatalf("check: %v, want a downgrade refusal", err)
	}
	rec := r.Finish(err)
	if rec.Outcome != fwupdate.Refused || rec.Board.FromVersion != "1.2.0" {
		t.Errorf("record %s from %q: %s", rec.Outcome, rec.Board.FromVersion, rec.Reason)
	}
	if !strings.Contains(rec.Steps[1].Detail, "newer than release 1.1.0") {
		t.Errorf("check step %+v", rec.Steps[1])
	}
}

// TestUpdateDFUSlotUnplugged pulls the cable half way through the download:
// the board keeps booting its confirmed image, and plugged back in it is
// written again from the start and updated.
func TestUpdateDFUSlotUnplugged(t *testing.T) {
	f := newFixture(t)
	b, z := newZephyr(t, "1.0.0", sim.ZephyrDFUConfig{WriteTime: 2 * time.Millisecond})
	ctx := context.Background()
	var (
		mu      sync.Mutex
		pulled  bool
		waiting bool
		during  smp.SlotImage
	)
	r := &Runner{BootTimeout: 10 * time.Second, Kind: &DFUSlot{Link: newUSBBench(t, z.USB, b), BootTimeout: 10 * time.Second},
		OnEvent: func(e Event) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case e.Upload != nil && !pulled && e.Upload.Offset > e.Upload.Total/2:
				pulled = true
				z.USB.Unplug()
			case e.Unplugged && !waiting:
				waiting = true
				// What the board boots with the cable out.
				b.Reset()
				run := b.Running()
				during = smp.SlotImage{Version: run.Version.String(), Confirmed: run.Confirmed}
				z.USB.Plug()
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
	rec := r.Finish(nil)
	mu.Lock()
	defer mu.Unlock()
	if !waiting {
		t.Fatal("the flow never saw the board go")
	}
	if during.Version != "1.0.0+0" || !during.Confirmed {
		t.Errorf("with the cable out the board boots %+v, want 1.0.0 confirmed", during)
	}
	if !strings.Contains(rec.Steps[2].Detail, "written again from the start 1 time") {
		t.Errorf("upload step %+v", rec.Steps[2])
	}
	if run := b.Running(); run.Version != (mcuimg.Version{Major: 1, Minor: 1}) || !run.Confirmed {
		t.Errorf("the board runs %+v", run)
	}
}

// TestUpdateDfuSe writes a release raw at 0x08000000 of an STM32's DfuSe
// bootloader, reads it back, starts the application; the same release is
// then refused as the version the part already holds.
func TestUpdateDfuSe(t *testing.T) {
	f := newFixture(t)
	s, err := sim.NewDfuSe(sim.DfuSeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ub := newUSBBench(t, s.USB, nil)
	ctx := context.Background()
	tfb := f.bundle(t, "1.1.0")
	var events []Event
	r := runner(nil, &events)
	r.Board, r.Kind = nil, &DfuSe{Link: ub}
	v, err := r.Verify(ctx, f.source(tfb))
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
	if got, want := stepNames(rec), "verify,check,upload,test boot"; got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
	if rec.Outcome != fwupdate.Updated || !strings.Contains(rec.Steps[2].Detail, "at 0x08000000") ||
		!strings.Contains(rec.Steps[2].Detail, "read back and compared") {
		t.Errorf("record %s, upload %+v", rec.Outcome, rec.Steps[2])
	}
	if string(s.Flash()[:len(v.Image)]) != string(v.Image) {
		t.Error("the flash does not hold the image")
	}
	st := Statuses(map[Step]Result{StepVerify: Succeeded, StepCheck: Succeeded, StepUpload: Succeeded, StepTestBoot: Succeeded}, rec.Outcome)
	if st[StepRunning] != StatusSkipped || st[StepConfirm] != StatusSkipped {
		t.Errorf("statuses %v: a bootloader's missing steps show skipped", st)
	}
	eventually(t, "the application runs", s.AppRunning)

	s.EnterBootloader()
	r2 := runner(nil, &events)
	r2.Board, r2.Kind = nil, &DfuSe{Link: ub}
	v2, err := r2.Verify(ctx, f.source(tfb))
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Check(ctx, v2); !errors.Is(err, fwupdate.ErrSameVersion) {
		t.Fatalf("the same release again: %v", err)
	}
	r2.Finish(err)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: never", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
