package serial

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func FuzzReader(f *testing.F) {
	for _, v := range [][]byte{
		[]byte("\x06\tABMCAAAJAAAAAKFhZGVoZWxsbyVv\n"),
		[]byte("\x06\tAAsIAAABAAECAKDBYQ==\n"),
		[]byte("*** Booting ***\r\n\x06\tAAsKAAABAAAEBaA85w==\n\x04\x14AAAA\n"),
		[]byte("\x06\tAHsBAABxAAF1AKJmaW1hZ2VzgaZkc2xvdABndmVyc2lvbmcxLjIuMy40ZGhhc2hYIHajVqh8oBoBjPsZqgBVcTtkdyehXUqN+A0qraA+6eTjaGJvb3RhYmxl9Wlj\n\x04\x14b25maXJtZWT1ZmFjdGl2ZfVrc3BsaXRTdGF0dXMACCA=\n"),
		{6, 9, 6, 9, 4, 20, '\n', 6},
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, src := range []io.Reader{bytes.NewReader(in), iotest.OneByteReader(bytes.NewReader(in))} {
			r := NewReader(src)
			r.MaxPacket = 1024
			var console bytes.Buffer
			r.Console = &console
			for {
				p, err := r.ReadPacket()
				if err == io.EOF {
					break
				}
				if err != nil && !errors.Is(err, ErrBadFrame) {
					t.Fatalf("ReadPacket: %v", err)
				}
				if len(p) > 1024 {
					t.Fatalf("packet of %d bytes passed MaxPacket 1024", len(p))
				}
			}
			if console.Len() > len(in) {
				t.Fatalf("console got %d bytes from %d of input", console.Len(), len(in))
			}
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{}, []byte("noise"))
	f.Add(bytes.Repeat([]byte{0xff}, 300), []byte{})
	f.Add([]byte("hello"), []byte{6})
	f.Fuzz(func(t *testing.T, pkt, noise []byte) {
		if len(pkt) > 4096 {
			return
		}
		// Console noise never holds a frame marker or ends mid-marker.
		noise = bytes.Map(func(r rune) rune {
			if r == 6 || r == 4 {
				return '.'
			}
			return r
		}, noise)
		frame := mustEncode(t, pkt)
		in := append(append(bytes.Clone(noise), '\n'), frame...)
		got, err := NewReader(bytes.NewReader(in)).ReadPacket()
		if err != nil {
			t.Fatalf("ReadPacket: %v", err)
		}
		if !bytes.Equal(got, pkt) {
			t.Fatalf("round trip: got % x, want % x", got, pkt)
		}
	})
}
