package serial

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

func mustEncode(t testing.TB, pkt []byte) []byte {
	t.Helper()
	f, err := Encode(pkt)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// readAll reads every packet of r until its end, collecting bad frames.
func readAll(t testing.TB, r *Reader) (pkts [][]byte, bad int) {
	t.Helper()
	for {
		p, err := r.ReadPacket()
		switch {
		case err == nil:
			pkts = append(pkts, p)
		case errors.Is(err, ErrBadFrame):
			bad++
		case err == io.EOF:
			return pkts, bad
		default:
			t.Fatalf("ReadPacket: %v", err)
		}
	}
}

func TestRoundTripChunked(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var want [][]byte
	for n := range 400 {
		size := n
		if n%50 == 49 {
			size = 2000 + rng.IntN(5000)
		}
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		want = append(want, p)
		stream = append(stream, mustEncode(t, p)...)
	}
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(stream) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) },
		"data err": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) },
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			got, bad := readAll(t, NewReader(mk()))
			if bad != 0 {
				t.Errorf("%d bad frames, want 0", bad)
			}
			if len(got) != len(want) {
				t.Fatalf("read %d packets, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("packet %d differs: got %d bytes, want %d", i, len(got[i]), len(want[i]))
				}
			}
		})
	}
}

func TestConsoleText(t *testing.T) {
	a := []byte{0x02, 0, 0, 1, 0, 0, 7, 0, 0xa0}
	b := bytes.Repeat([]byte{0x42}, 300)
	var in bytes.Buffer
	in.WriteString("*** Booting Zephyr OS build v3.7.0 ***\r\n")
	in.Write(mustEncode(t, a))
	in.WriteString("uart:~$ \x06 not a frame\x04 nor this\r\n[00:00:01.000,000] <inf> app: hello")
	in.Write(mustEncode(t, b))
	in.WriteString("bye\n")

	var console bytes.Buffer
	r := NewReader(iotest.OneByteReader(&in))
	r.Console = &console
	got, bad := readAll(t, r)
	if bad != 0 {
		t.Errorf("%d bad frames, want 0", bad)
	}
	if len(got) != 2 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) {
		t.Fatalf("packets = %q, want the two sent", got)
	}
	wantConsole := "*** Booting Zephyr OS build v3.7.0 ***\r\nuart:~$ \x06 not a frame\x04 nor this\r\n[00:00:01.000,000] <inf> app: hellobye\n"
	if console.String() != wantConsole {
		t.Errorf("console = %q, want %q", console.String(), wantConsole)
	}
}

func TestBadFrames(t *testing.T) {
	good := []byte{0x0a, 0, 0, 9, 0, 0, 1, 0, 0xa1, 0x61, 0x64, 0x65, 0x68, 0x65, 0x6c, 0x6c, 0x6f}
	goodFrame := mustEncode(t, good)
	long := mustEncode(t, bytes.Repeat([]byte{7}, 400)) // three lines
	flip := func(f []byte, i int) []byte {
		c := bytes.Clone(f)
		// Swap one base64 character for another valid one.
		if c[i] == 'A' {
			c[i] = 'B'
		} else {
			c[i] = 'A'
		}
		return c
	}
	secondLine := bytes.IndexByte(long, '\n') + 1
	tests := []struct {
		name string
		in   []byte
		bad  int
	}{
		{"bad checksum", append(flip(goodFrame, 10), goodFrame...), 1},
		{"bad base64", append([]byte("\x06\tAB=C\n"), goodFrame...), 1},
		{"no length", append([]byte("\x06\t\n"), goodFrame...), 1},
		{"zero length", append([]byte("\x06\tAAAA\n"), goodFrame...), 1},
		{"too long for length", append(mustEncode(t, nil)[:2], append([]byte("AAKqqqqq\n"), goodFrame...)...), 1},
		{"continuation without start", append([]byte("\x04\x14AAAA\n"), goodFrame...), 1},
		{"line cut by console", append(append(bytes.Clone(goodFrame[:15]), "*** reset ***\n"...), goodFrame...), 1},
		{"packet cut by new start", append(bytes.Clone(long[:secondLine]), goodFrame...), 0},
		{"packet cut by new multi-line start", append(bytes.Clone(long[:secondLine]), long...), 1},
		{"endless line", append(append([]byte{6, 9}, bytes.Repeat([]byte("A"), 100000)...), append([]byte("\n"), goodFrame...)...), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, bad := readAll(t, NewReader(bytes.NewReader(tt.in)))
			if bad != tt.bad {
				t.Errorf("bad frames = %d, want %d", bad, tt.bad)
			}
			if len(got) == 0 || !bytes.Equal(got[len(got)-1], good) && !bytes.Equal(got[len(got)-1], bytes.Repeat([]byte{7}, 400)) {
				t.Errorf("the good frame after the bad one was lost: got %d packets", len(got))
			}
		})
	}
}

// TestEveryTruncation cuts a multi-line frame at every byte and checks that
// the frame sent after it is still read.
func TestEveryTruncation(t *testing.T) {
	a := mustEncode(t, bytes.Repeat([]byte{1, 2, 3}, 100))
	b := []byte{0x02, 0, 0, 1, 0, 0, 5, 5, 0xa0}
	bf := mustEncode(t, b)
	for i := range len(a) {
		in := append(bytes.Clone(a[:i]), bf...)
		got, _ := readAll(t, NewReader(bytes.NewReader(in)))
		if len(got) == 0 || !bytes.Equal(got[len(got)-1], b) {
			t.Fatalf("cut at %d: the next frame was lost (%d packets)", i, len(got))
		}
	}
}

func TestMaxPacket(t *testing.T) {
	in := append(mustEncode(t, make([]byte, 600)), mustEncode(t, make([]byte, 100))...)
	r := NewReader(bytes.NewReader(in))
	r.MaxPacket = 512
	got, bad := readAll(t, r)
	if bad != 1 || len(got) != 1 || len(got[0]) != 100 {
		t.Errorf("got %d packets and %d bad frames, want the 100-byte packet and 1 bad frame", len(got), bad)
	}
}

func TestReadError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(iotest.ErrReader(boom))
	if _, err := r.ReadPacket(); err != boom {
		t.Errorf("ReadPacket = %v, want %v", err, boom)
	}
}
