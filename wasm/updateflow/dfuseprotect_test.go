package updateflow

import (
	"context"
	"errors"
	"strings"
	"testing"

	"trustforge/devices/dfu"
	"trustforge/devices/sim"
)

// TestDfuSeProtect writes a release to an STM32's DfuSe bootloader, then
// sets RDP level 1: the part resets, comes back at level 1, and its
// bootloader refuses to read the flash, which still holds the image.
func TestDfuSeProtect(t *testing.T) {
	f := newFixture(t)
	s, err := sim.NewDfuSe(sim.DfuSeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ub := newUSBBench(t, s.USB, nil)
	ctx := context.Background()
	var events []Event
	r := runner(nil, &events)
	k := &DfuSe{Link: ub}
	r.Board, r.Kind = nil, k
	if _, err := k.Protect(ctx); err == nil {
		t.Fatal("Protect before Write succeeded")
	}
	v, err := r.Verify(ctx, f.source(f.bundle(t, "1.1.0")))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(ctx, v); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Write(ctx, v, func(Event) {}); err != nil {
		t.Fatal(err)
	}
	detail, err := k.Protect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "RDP level 1") {
		t.Errorf("detail %q", detail)
	}
	if s.RDP() != dfu.RDP1 {
		t.Errorf("the part is at %v", s.RDP())
	}
	if string(s.Flash()[:len(v.Image)]) != string(v.Image) {
		t.Error("the flash lost the image")
	}
	// A second check refuses the protected part before writing.
	k2 := &DfuSe{Link: ub}
	if _, err := k2.Check(ctx, v); !errors.Is(err, ErrProtected) {
		t.Errorf("checking a protected part: %v, want ErrProtected", err)
	}
}
