package devices

import (
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
