package esprom

import "testing"

func FuzzSLIPDecoder(f *testing.F) {
	f.Add(AppendSLIP(nil, []byte{0xC0, 0xDB, 1}))
	f.Add([]byte{0xC0, 0xDB, 0xC0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decoder
		d.Feed(b, func(frame []byte) {
			if len(frame) == 0 || len(frame) > MaxFrame {
				t.Fatalf("frame of %d bytes", len(frame))
			}
			// A decoded frame re-encodes and decodes to itself.
			var d2 Decoder
			n := 0
			d2.Feed(AppendSLIP(nil, frame), func(g []byte) {
				n++
				if string(g) != string(frame) {
					t.Fatalf("re-decoded %x, want %x", g, frame)
				}
			})
			if n != 1 {
				t.Fatalf("%d frames after re-encoding", n)
			}
		})
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add(MarshalResponse(OpReadReg, 7, []byte{0, 0}), 2)
	f.Add(MarshalResponse(OpSPIFlashMD5, 0, make([]byte, 36)), 4)
	f.Fuzz(func(t *testing.T, b []byte, statusLen int) {
		r, err := ParseResponse(b, statusLen)
		if err != nil {
			return
		}
		_ = r.payload(statusLen)
		_, _ = ParseSecurityInfo(r.payload(statusLen))
	})
}

func FuzzParseRequest(f *testing.F) {
	f.Add(MarshalRequest(OpFlashData, []byte{1, 2}, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseRequest(b); err == nil && len(r.Data) != len(b)-8 {
			t.Fatal("data length")
		}
	})
}
