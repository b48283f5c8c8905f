package devices

import (
	"fmt"
	"strings"
	"testing"

	"trustforge/devices/dfu"
)

func TestLayoutSummary(t *testing.T) {
	l, err := dfu.ParseLayout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg")
	if err != nil {
		t.Fatal(err)
	}
	want := "Internal Flash at 0x08000000, 1.0 MiB in 12 sector(s) (4 × 16.0 KiB, 1 × 64.0 KiB, 7 × 128.0 KiB), readable, erasable, writable"
	if got := layoutSummary(l); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	ob, _ := dfu.ParseLayout("@Option Bytes  /0x1FFFC000/01*016 e")
	if got := layoutSummary(ob); !strings.Contains(got, "16 bytes") || strings.Contains(got, "erasable") {
		t.Errorf("option bytes: %q", got)
	}
}

// TestDescribeDFU: every DFU status gets a sentence naming it, and the
// errors a person meets most get their own.
func TestDescribeDFU(t *testing.T) {
	for s := dfu.StatusTarget; s <= dfu.StatusStalledPkt; s++ {
		err := fmt.Errorf("wrapped: %w", &dfu.StatusError{Op: "write 0x08000000", Status: s, State: dfu.DFUError})
		got := describeDFU(err)
		if !strings.Contains(got, s.String()) || !strings.Contains(got, "write 0x08000000") || strings.Contains(got, "dfu:") {
			t.Errorf("%s: %q", s, got)
		}
	}
	if got := describeDFU(&dfu.StatusError{Op: "upload block 2", Status: dfu.StatusVendor}); !strings.Contains(got, "read-out protection") {
		t.Errorf("errVENDOR: %q", got)
	}
	if got := describeDFU(fmt.Errorf("dfu: download block 3: %w", dfu.ErrDisconnected)); !strings.Contains(got, "unplugged") {
		t.Errorf("unplug: %q", got)
	}
	if got := describeDFU(fmt.Errorf("%w: first at 0x08000010 (device 0x00, file 0x01)", dfu.ErrMismatch)); !strings.Contains(got, "0x08000010") {
		t.Errorf("mismatch: %q", got)
	}
}
