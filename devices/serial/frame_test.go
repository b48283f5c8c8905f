package serial

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"trustforge/devices/internal/pylit"
)

func TestCRC16CheckValue(t *testing.T) {
	if got, want := CRC16([]byte("123456789")), uint16(0x31C3); got != want {
		t.Fatalf("CRC16(123456789) = %#04x, want %#04x", got, want)
	}
}

// vector is one example of smp-serial-examples.txt.
type vector struct {
	name   string
	packet []byte
	raw    []byte
	line   []byte
}

func readVectors(t *testing.T) []vector {
	t.Helper()
	f, err := os.Open("testdata/smp-serial-examples.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
		if err != nil {
			t.Fatalf("bad hex %q: %v", s, err)
		}
		return b
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "# "):
			vs = append(vs, vector{name: strings.TrimPrefix(l, "# ")})
		case strings.HasPrefix(l, "SMP packet :"):
			vs[len(vs)-1].packet = unhex(strings.TrimPrefix(l, "SMP packet :"))
		case strings.HasPrefix(l, "raw(len|pkt|crc):"):
			vs[len(vs)-1].raw = unhex(strings.TrimPrefix(l, "raw(len|pkt|crc):"))
		case strings.HasPrefix(l, "serial line:"):
			b, err := pylit.Bytes(strings.TrimPrefix(l, "serial line:"))
			if err != nil {
				t.Fatal(err)
			}
			vs[len(vs)-1].line = b
		}
	}
	if len(vs) < 6 {
		t.Fatalf("read %d vectors, want at least 6", len(vs))
	}
	return vs
}

func TestVectorsEncode(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			got, err := Encode(v.packet)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, v.line) {
				t.Errorf("Encode = %q, want %q", got, v.line)
			}
			crc := CRC16(v.packet)
			if gotCRC := v.raw[len(v.raw)-2:]; gotCRC[0] != byte(crc>>8) || gotCRC[1] != byte(crc) {
				t.Errorf("CRC16 = %#04x, vector says % x", crc, gotCRC)
			}
			if n := FrameLen(len(v.packet)); n != len(v.line) {
				t.Errorf("FrameLen(%d) = %d, want %d", len(v.packet), n, len(v.line))
			}
		})
	}
}

func TestVectorsDecode(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			got, err := NewReader(bytes.NewReader(v.line)).ReadPacket()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, v.packet) {
				t.Errorf("ReadPacket = % x, want % x", got, v.packet)
			}
		})
	}
}

func TestEncodeLines(t *testing.T) {
	for _, n := range []int{0, 1, 88, 89, 90, 91, 92, 93, 200, 1000, 4096, MaxPacket} {
		pkt := bytes.Repeat([]byte{0xa5}, n)
		f, err := Encode(pkt)
		if err != nil {
			t.Fatal(err)
		}
		if len(f) != FrameLen(n) {
			t.Errorf("%d bytes: frame is %d bytes, FrameLen says %d", n, len(f), FrameLen(n))
		}
		lines := bytes.SplitAfter(f, []byte("\n"))
		lines = lines[:len(lines)-1]
		for i, l := range lines {
			if len(l) > MaxLine {
				t.Errorf("%d bytes: line %d is %d bytes, limit %d", n, i, len(l), MaxLine)
			}
			want := contMarker[:]
			if i == 0 {
				want = startMarker[:]
			}
			if !bytes.HasPrefix(l, want) {
				t.Errorf("%d bytes: line %d starts % x, want % x", n, i, l[:2], want)
			}
		}
	}
	if _, err := Encode(make([]byte, MaxPacket+1)); err == nil {
		t.Errorf("Encode of %d bytes: no error", MaxPacket+1)
	}
}
