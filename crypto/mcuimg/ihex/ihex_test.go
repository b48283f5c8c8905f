package ihex

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	data := make([]byte, 0x20005)
	for i := range data {
		data[i] = byte(i * 31)
	}
	segs := []Segment{{Addr: 0x0800fff8, Data: data}, {Addr: 0x08040000 - 16, Data: []byte("trailer magic...")}}
	enc, err := Encode(segs...)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Segments) != 2 || f.Segments[0].Addr != segs[0].Addr || !bytes.Equal(f.Segments[0].Data, data) || !bytes.Equal(f.Segments[1].Data, segs[1].Data) {
		t.Fatalf("round trip: got %d segments", len(f.Segments))
	}
	base, bin, err := f.Binary(0xff, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if base != 0x0800fff8 || len(bin) != 0x40000-0xfff8 || bin[len(data)] != 0xff || !bytes.Equal(bin[:len(data)], data) {
		t.Errorf("Binary: base %#x, %d bytes", base, len(bin))
	}
	if _, _, err := f.Binary(0xff, 1000); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Binary over limit: err = %v, want ErrTooLarge", err)
	}
}

func TestParseKnown(t *testing.T) {
	t.Parallel()
	// A classic example file: segment addressing, a start address, CRLF lines.
	in := ":020000021000EC\r\n:0400000001020304F2\r\n:0400000300003800C1\r\n:00000001FF\r\n"
	f, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Segments) != 1 || f.Segments[0].Addr != 0x10000 || !bytes.Equal(f.Segments[0].Data, []byte{1, 2, 3, 4}) {
		t.Errorf("segments = %+v", f.Segments)
	}
	if f.Start == nil || *f.Start != 0x3800 {
		t.Errorf("start = %v, want 0x3800", f.Start)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     error
	}{
		{"bad checksum", ":0400000001020304F3\n:00000001FF\n", ErrSyntax},
		{"no eof", ":0400000001020304F2\n", ErrSyntax},
		{"after eof", ":00000001FF\n:0400000001020304F2\n", ErrSyntax},
		{"no colon", "0400000001020304F2\n:00000001FF\n", ErrSyntax},
		{"odd digits", ":0400000001020304F\n:00000001FF\n", ErrSyntax},
		{"short record", ":0400000001F2\n:00000001FF\n", ErrSyntax},
		{"unknown type", ":00000006FA\n:00000001FF\n", ErrSyntax},
		{"conflicting overlap", ":0400000001020304F2\n:0100010009F5\n:00000001FF\n", ErrOverlap},
		{"not hex", ":04000000010203ZZF2\n:00000001FF\n", ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.in)); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Agreeing overlap is fine.
	if _, err := Parse([]byte(":0400000001020304F2\n:0100010002FC\n:00000001FF\n")); err != nil {
		t.Errorf("agreeing overlap: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	enc, _ := Encode(Segment{Addr: 0xfff0, Data: bytes.Repeat([]byte{0xab}, 40)})
	f.Add(enc)
	f.Add([]byte(":020000021000EC\r\n:0400000001020304F2\r\n:0400000300003800C1\r\n:00000001FF\r\n"))
	f.Add([]byte(":00000001FF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		_, bin, err := file.Binary(0xff, 1<<20)
		if err != nil {
			return
		}
		// Whatever parses re-encodes to the same data.
		enc, err := Encode(file.Segments...)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(enc)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		_, bin2, _ := again.Binary(0xff, 1<<20)
		if !bytes.Equal(bin, bin2) {
			t.Error("re-encoded file differs")
		}
	})
}
