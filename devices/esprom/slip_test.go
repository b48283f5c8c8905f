package esprom

import (
	"bytes"
	"testing"
)

func TestSLIPRoundTrip(t *testing.T) {
	t.Parallel()
	msgs := [][]byte{{1}, {0xC0}, {0xDB}, {0xC0, 0xDB, 0xDC, 0xDD, 0}, bytes.Repeat([]byte{0xC0, 0x55}, 300)}
	var stream []byte
	stream = append(stream, "ESP-ROM:esp32c3-api1-20210207\r\nboot log\r\n"...)
	for _, m := range msgs {
		stream = AppendSLIP(stream, m)
		stream = append(stream, 'x') // noise between frames
	}
	for _, chunk := range []int{1, 2, 7, len(stream)} {
		var d Decoder
		var got [][]byte
		for i := 0; i < len(stream); i += chunk {
			d.Feed(stream[i:min(i+chunk, len(stream))], func(f []byte) { got = append(got, append([]byte(nil), f...)) })
		}
		if len(got) != len(msgs) {
			t.Fatalf("chunk %d: %d frames, want %d", chunk, len(got), len(msgs))
		}
		for i := range msgs {
			if !bytes.Equal(got[i], msgs[i]) {
				t.Errorf("chunk %d: frame %d = %x, want %x", chunk, i, got[i], msgs[i])
			}
		}
		if d.Noise == 0 {
			t.Error("noise not counted")
		}
	}
}

func TestSLIPDropsBadEscape(t *testing.T) {
	var d Decoder
	n := 0
	d.Feed([]byte{0xC0, 1, 0xDB, 0x01, 2, 0xC0, 0xC0, 3, 0xC0}, func(f []byte) {
		n++
		if !bytes.Equal(f, []byte{3}) {
			t.Errorf("frame %x", f)
		}
	})
	if n != 1 {
		t.Errorf("%d frames, want 1", n)
	}
}

func TestPacketRoundTrip(t *testing.T) {
	req, err := ParseRequest(MarshalRequest(OpFlashData, []byte{1, 2, 3}, 0xAB))
	if err != nil || req.Op != OpFlashData || req.Checksum != 0xAB || !bytes.Equal(req.Data, []byte{1, 2, 3}) {
		t.Fatalf("request %+v, %v", req, err)
	}
	r, err := ParseResponse(MarshalResponse(OpReadReg, 0x1234, []byte{0, 0}), 2)
	if err != nil || r.Value != 0x1234 || r.Status != 0 {
		t.Fatalf("response %+v, %v", r, err)
	}
	r, err = ParseResponse(MarshalResponse(OpSPIFlashMD5, 0, append(bytes.Repeat([]byte{'a'}, 32), 1, 5, 0, 0)), 4)
	if err != nil || r.Status != 1 || r.Error != 5 || len(r.payload(4)) != 32 {
		t.Fatalf("4-byte status %+v, %v", r, err)
	}
	for _, bad := range [][]byte{nil, {1, 8, 0, 0, 0, 0, 0}, {0, 8, 2, 0, 0, 0, 0, 0, 0, 0}, {1, 8, 5, 0, 0, 0, 0, 0, 0}} {
		if _, err := ParseResponse(bad, 2); err == nil {
			t.Errorf("ParseResponse(%x) accepted", bad)
		}
	}
	if Checksum([]byte{0xEF}) != 0 || Checksum(nil) != 0xEF {
		t.Error("checksum seed")
	}
}

// TestRSCheck checks the Reed-Solomon code by its definition: a codeword
// (data then check bytes) evaluates to zero at each root α^0..α^11 of the
// generator.
func TestRSCheck(t *testing.T) {
	data := make([]byte, 32)
	for i := range data {
		data[i] = byte(i*37 + 5)
	}
	chk := RSCheck(data)
	cw := append(append([]byte(nil), data...), chk[:]...)
	gf := gf()
	for i := 0; i < 12; i++ {
		var acc byte
		for _, c := range cw { // Horner, highest degree first
			acc = gf.mul(acc, gf.exp[i]) ^ c
		}
		if acc != 0 {
			t.Errorf("codeword at α^%d = %#x, want 0", i, acc)
		}
	}
	if RSCheck(make([]byte, 32)) != [12]byte{} {
		t.Error("zero block has non-zero check bytes")
	}
}

func TestSecurityInfo(t *testing.T) {
	s := SecurityInfo{Flags: SecFlagSecureBootEn, FlashCryptCnt: 1, ChipID: 5, ECOVersion: 4}
	s.KeyPurposes[0] = 9
	got, err := ParseSecurityInfo(s.Marshal())
	if err != nil || got != s {
		t.Fatalf("%+v, %v", got, err)
	}
	if _, err := ParseSecurityInfo(make([]byte, 13)); err == nil {
		t.Error("13 bytes accepted")
	}
}
