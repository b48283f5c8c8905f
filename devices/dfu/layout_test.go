package dfu

import (
	"errors"
	"testing"
)

func TestParseLayout(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		sectors int
		size    uint64
		first   Sector
		last    Sector
		canon   string
	}{
		{"@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg", "Internal Flash", 12, 1 << 20,
			Sector{0x08000000, 16 << 10, true, true, true}, Sector{0x080e0000, 128 << 10, true, true, true},
			"@Internal Flash/0x08000000/04*016Kg,01*064Kg,07*128Kg"},
		{"@Option Bytes  /0x1FFFC000/01*016 e", "Option Bytes", 1, 16,
			Sector{0x1fffc000, 16, true, false, true}, Sector{0x1fffc000, 16, true, false, true},
			"@Option Bytes/0x1FFFC000/01*016 e"},
		{"@OTP Memory /0x1FFF7800/01*512 e,01*016 e", "OTP Memory", 2, 528,
			Sector{0x1fff7800, 512, true, false, true}, Sector{0x1fff7a00, 16, true, false, true},
			"@OTP Memory/0x1FFF7800/01*512 e,01*016 e"},
		{"@Internal Flash  /0x08000000/128*0001Kg", "Internal Flash", 128, 128 << 10,
			Sector{0x08000000, 1024, true, true, true}, Sector{0x0801fc00, 1024, true, true, true},
			"@Internal Flash/0x08000000/128*001Kg"},
		{"@Flash/0x08000000/2*64Ka/0x08100000/1*1Mg\x00", "Flash", 3, 128<<10 + 1<<20,
			Sector{0x08000000, 64 << 10, true, false, false}, Sector{0x08100000, 1 << 20, true, true, true},
			"@Flash/0x08000000/02*064Ka/0x08100000/01*001Mg"},
		{"@SRAM /0x20000000/64*128Bd", "SRAM", 64, 64 * 128,
			Sector{0x20000000, 128, false, false, true}, Sector{0x20001f80, 128, false, false, true},
			"@SRAM/0x20000000/64*128 d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLayout(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if l.Name != tt.name || len(l.Sectors) != tt.sectors || l.Size() != tt.size {
				t.Fatalf("got %q, %d sectors, %d bytes", l.Name, len(l.Sectors), l.Size())
			}
			if l.Sectors[0] != tt.first || l.Sectors[len(l.Sectors)-1] != tt.last {
				t.Errorf("first %+v, last %+v", l.Sectors[0], l.Sectors[len(l.Sectors)-1])
			}
			if got := l.String(); got != tt.canon {
				t.Errorf("String() = %q, want %q", got, tt.canon)
			}
			again, err := ParseLayout(l.String())
			if err != nil || len(again.Sectors) != len(l.Sectors) || again.Size() != l.Size() {
				t.Errorf("String() does not parse back: %v", err)
			}
		})
	}
}

func TestParseLayoutErrors(t *testing.T) {
	for _, in := range []string{
		"", "image-1", "@Flash", "@Flash/0x08000000", "@Flash/08000000/1*1Kg", "@Flash/0x0800000g/1*1Kg",
		"@Flash/0x08000000/1*1Kz", "@Flash/0x08000000/1*1Xg", "@Flash/0x08000000/0*1Kg", "@Flash/0x08000000/1*0Kg",
		"@Flash/0x08000000/*1Kg", "@Flash/0x08000000/1*Kg", "@Flash/0x08000000/1*1Kgx", "@Flash/0xFFFFFC00/2*1Kg",
		"@Flash/0x08000000/99999*1Kg", "@Flash/0x08000000/1*99999Mg", "@Flash/0x08000000/1*1Kg/0x0",
	} {
		if _, err := ParseLayout(in); !errors.Is(err, ErrLayout) {
			t.Errorf("ParseLayout(%q) = %v, want ErrLayout", in, err)
		}
	}
}

func TestCovering(t *testing.T) {
	l, _ := ParseLayout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg")
	secs, err := l.Covering(0x08003000, 0x12000)
	if err != nil {
		t.Fatal(err)
	}
	// 0x08003000..0x08015000 touches the four 16K sectors and the 64K one.
	if len(secs) != 5 || secs[0].Addr != 0x08000000 || secs[4].Addr != 0x08010000 {
		t.Fatalf("covering: %+v", secs)
	}
	if _, err := l.Covering(0x080ff000, 0x2000); err == nil {
		t.Error("a range past the end of flash is covered")
	}
	if s, ok := l.Sector(0x0800c123); !ok || s.Addr != 0x0800c000 {
		t.Errorf("Sector(0x0800c123) = %+v, %v", s, ok)
	}
}
