package dfu

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDfuSeVector(t *testing.T) {
	raw := readVector(t, "stm32f4-two-targets.dfu")
	f, err := ParseFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !f.DfuSe() || f.VendorID != 0x0483 || f.ProductID != 0xdf11 || f.Device != 0x2200 {
		t.Fatalf("suffix: %+v", f)
	}
	if len(f.Targets) != 2 {
		t.Fatalf("%d targets, want 2", len(f.Targets))
	}
	t0, t1 := f.Targets[0], f.Targets[1]
	if t0.Alternate != 0 || !t0.Named || t0.Name != "ST..." || len(t0.Elements) != 2 {
		t.Errorf("target 0: %+v", t0)
	}
	if e := t0.Elements[1]; e.Address != 0x08004000 || len(e.Data) != 32 || e.Data[0] != 0xde {
		t.Errorf("target 0 element 1: %#x, %d bytes", e.Address, len(e.Data))
	}
	if t1.Alternate != 1 || t1.Named || len(t1.Elements) != 1 || t1.Elements[0].Address != 0x1fffc000 {
		t.Errorf("target 1: %+v", t1)
	}
	again, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, raw) {
		t.Error("writing the parsed file does not give back the vector's bytes")
	}
}

func TestPlainSuffixVector(t *testing.T) {
	raw := readVector(t, "plain-suffix.dfu")
	f, err := ParseFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	if f.DfuSe() || f.VendorID != 0x2fe3 || f.ProductID != AnyID || len(f.Payload) != 1000 || f.Payload[1] != 7 {
		t.Fatalf("plain file: vid %#x pid %#x, %d bytes", f.VendorID, f.ProductID, len(f.Payload))
	}
	again, err := f.Bytes()
	if err != nil || !bytes.Equal(again, raw) {
		t.Errorf("rewritten plain file differs (%v)", err)
	}
}

// TestEveryByteFlipped demands a specific error for every damaged byte:
// the CRC covers all of the file but itself.
func TestEveryByteFlipped(t *testing.T) {
	raw := readVector(t, "stm32f4-two-targets.dfu")
	for i := range raw {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		_, err := ParseFile(b)
		if !errors.Is(err, ErrCRC) && !errors.Is(err, ErrFile) {
			t.Fatalf("byte %d flipped: %v, want ErrCRC or ErrFile", i, err)
		}
	}
}

func TestEveryTruncation(t *testing.T) {
	raw := readVector(t, "stm32f4-two-targets.dfu")
	for n := range len(raw) {
		if _, err := ParseFile(raw[:n]); !errors.Is(err, ErrFile) && !errors.Is(err, ErrCRC) {
			t.Fatalf("%d of %d bytes: %v", n, len(raw), err)
		}
	}
}

// TestStructureErrors rewrites the CRC after damaging the structure, so the
// parser's own checks are what refuse it.
func TestStructureErrors(t *testing.T) {
	raw := readVector(t, "stm32f4-two-targets.dfu")
	fix := func(b []byte) []byte {
		body := b[:len(b)-4]
		c := dfuCRC(body)
		return append(bytes.Clone(body), byte(c), byte(c>>8), byte(c>>16), byte(c>>24))
	}
	cases := map[string]func(b []byte){
		"prefix signature": func(b []byte) { b[0] = 'X' },
		"prefix version":   func(b []byte) { b[5] = 2 },
		"image size":       func(b []byte) { b[6]++ },
		"target count":     func(b []byte) { b[10] = 3 },
		"target signature": func(b []byte) { b[11] = 't' },
		"target size":      func(b []byte) { b[11+266]++ },
		"element count":    func(b []byte) { b[11+270] = 9 },
		"element size":     func(b []byte) { b[11+274+4] = 0xff },
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			b := bytes.Clone(raw)
			damage(b)
			if _, err := ParseFile(fix(b)); !errors.Is(err, ErrFile) {
				t.Fatalf("got %v, want ErrFile", err)
			}
		})
	}
}

func TestFileRoundTrip(t *testing.T) {
	f := &File{VendorID: 0x0483, ProductID: 0xdf11, Device: AnyID, Targets: []Target{
		{Alternate: 0, Name: "Internal Flash", Elements: []Element{{0x08000000, []byte("hello")}, {0x08020000, make([]byte, 3000)}}},
		{Alternate: 2, Elements: nil},
	}}
	b, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	g, err := ParseFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if g.DFUVersion != VersionDfuSe || len(g.Targets) != 2 || g.Targets[0].Name != "Internal Flash" || !g.Targets[0].Named ||
		string(g.Targets[0].Elements[0].Data) != "hello" || len(g.Targets[0].Elements[1].Data) != 3000 || g.Targets[1].Alternate != 2 {
		t.Fatalf("round trip: %+v", g)
	}
}
