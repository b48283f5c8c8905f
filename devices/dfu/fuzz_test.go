package dfu

import (
	"bytes"
	"os"
	"testing"
)

func FuzzParseFile(f *testing.F) {
	for _, name := range []string{"stm32f4-two-targets.dfu", "plain-suffix.dfu"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := ParseFile(b)
		if err != nil {
			return
		}
		again, err := file.Bytes()
		if err != nil {
			t.Fatalf("a parsed file does not write: %v", err)
		}
		if _, err := ParseFile(again); err != nil {
			t.Fatalf("a written file does not parse: %v", err)
		}
	})
}

func FuzzParseLayout(f *testing.F) {
	for _, s := range []string{"@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg", "@Option Bytes  /0x1FFFC000/01*016 e",
		"@Flash/0x08000000/2*64Ka/0x08100000/1*1Mg", "image-1", "@x/0x0/1*1 a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLayout(s)
		if err != nil {
			return
		}
		if len(l.Sectors) == 0 {
			t.Fatal("a layout with no sectors parses")
		}
		if _, err := ParseLayout(l.String()); err != nil && !bytes.ContainsAny([]byte(l.Name), "/") {
			t.Fatalf("String() %q does not parse: %v", l.String(), err)
		}
	})
}

func FuzzParseConfiguration(f *testing.F) {
	fn := Functional{CanDownload: true, TransferSize: 1024, Version: Version11}
	f.Add(BuildConfiguration([]AltSetting{{Class: 0xfe, Subclass: 1, Protocol: 1, Functional: &fn}, {Interface: 1, Class: 0xff, Endpoints: []uint8{0x81, 2}}}))
	f.Add([]byte{9, 2, 9, 0, 0, 1, 0, 0x80, 50})
	f.Fuzz(func(t *testing.T, b []byte) {
		alts, err := ParseConfiguration(b)
		if err != nil {
			return
		}
		for _, a := range alts {
			if a.Functional != nil && a.Functional.TransferSize == 0 {
				t.Fatal("a functional descriptor with a zero transfer size parses")
			}
		}
	})
}

func FuzzParseDescriptors(f *testing.F) {
	f.Add(BuildString("image-0"))
	f.Add(DeviceDescriptor{VendorID: 1}.Bytes())
	f.Add(StatusReport{Status: StatusErase, State: DFUError}.Bytes())
	f.Add((&Functional{TransferSize: 64}).Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseString(b)
		_, _ = ParseDeviceDescriptor(b)
		_, _ = ParseFunctional(b)
		if r, err := ParseStatus(b); err == nil {
			if got, _ := ParseStatus(r.Bytes()); got != r {
				t.Fatalf("status %+v does not round trip", r)
			}
		}
	})
}

func FuzzLoadImage(f *testing.F) {
	f.Add([]byte(":0400000001020304F2\n:00000001FF\n"))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		els, err := LoadImage(b, 0x08000000)
		if err != nil {
			return
		}
		if err := SortElements(els); err != nil {
			t.Fatalf("LoadImage gave overlapping elements: %v", err)
		}
	})
}
