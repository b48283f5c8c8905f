package smp

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// FuzzDecodeAnswer feeds arbitrary packets to the decoders of answers.
func FuzzDecodeAnswer(f *testing.F) {
	f.Add([]byte{0x01, 0, 0, 1, 0, 1, 0, 0, 0xa0})
	f.Add([]byte{0x03, 0, 0, 3, 0, 1, 0, 1, 0xa1, 0x62, 'r', 'c'})
	f.Add(append([]byte{0x01, 0, 0, 11, 0, 1, 0, 0}, 0xbf, 0x66, 'i', 'm', 'a', 'g', 'e', 's', 0x9f, 0xff, 0xff))
	f.Add(append([]byte{0x0b, 0, 0, 14, 0, 1, 0, 0}, 0xa1, 0x63, 'e', 'r', 'r', 0xa2, 0x65, 'g', 'r', 'o', 'u', 'p', 1, 0x62, 'r', 'c', 8))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		h, body, err := DecodePacket(pkt)
		if err != nil {
			return
		}
		var st stateAnswer
		decodeAnswer("fuzz", h.Group, body, &st)
		var up uploadAnswer
		decodeAnswer("fuzz", h.Group, body, &up)
		var p Params
		if err := decodeAnswer("fuzz", h.Group, body, &p); err != nil {
			_ = err.Error()
		}
	})
}

// FuzzClientStream feeds arbitrary board output to a client waiting for an
// echo: it must neither panic nor hang.
func FuzzClientStream(f *testing.F) {
	f.Add([]byte("\x06\tABMDAAAJAAAAAKFhcmVoZWxsb4yN\n"))
	f.Add([]byte("*** Booting ***\r\n\x06\tAAsDAAABAADPBaAoPQ==\n"))
	f.Add([]byte{6, 9, 'A', 'A', '=', '\n', 4, 20})
	f.Fuzz(func(t *testing.T, out []byte) {
		fb := newFakeBoard(func(h Header, body []byte) []byte { return bytes.Clone(out) })
		c := NewClient(fb, &Options{Timeout: time.Millisecond, Retries: -1})
		c.Echo(context.Background(), "hello")
		c.Close()
	})
}
