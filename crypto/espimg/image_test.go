package espimg

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"
)

func TestBuildParse(t *testing.T) {
	img := testImage(t, 1000)
	p, err := Parse(img)
	if err != nil {
		t.Fatal(err)
	}
	if p.Header.Chip != ESP32C3 || p.Header.MinRev != 3 || p.Header.Entry != 0x40380000 || !p.Header.HashAppend {
		t.Errorf("header = %+v", p.Header)
	}
	if len(p.Segments) != 2 || p.Segments[0].Addr != 0x3C000020 || len(p.Segments[0].Data) != 500 {
		t.Errorf("segments = %d, first at %#x len %d", len(p.Segments), p.Segments[0].Addr, len(p.Segments[0].Data))
	}
	if p.Len != len(img) {
		t.Errorf("Len = %d, want %d", p.Len, len(img))
	}
	if (p.Len-sha256.Size)%16 != 0 {
		t.Errorf("checksum does not end a 16-byte row: Len %d", p.Len)
	}
	// The layout, byte by byte, as the format documents it.
	if img[0] != 0xE9 || img[1] != 2 || img[2] != ModeDIO || img[3]>>4 != 2 {
		t.Errorf("header bytes % x", img[:8])
	}
	if binary.LittleEndian.Uint16(img[12:]) != 5 || img[23] != 1 {
		t.Errorf("extended header bytes % x", img[8:24])
	}
	sum := byte(0xEF)
	for _, s := range p.Segments {
		for _, c := range s.Data {
			sum ^= c
		}
	}
	if img[p.Len-33] != sum {
		t.Errorf("checksum %#x, want %#x", img[p.Len-33], sum)
	}
	// Trailing erased flash is allowed.
	if _, err := Parse(append(img, bytes.Repeat([]byte{0xFF}, 100)...)); err != nil {
		t.Errorf("with trailing 0xFF: %v", err)
	}
}

func TestEveryTruncation(t *testing.T) {
	img := testImage(t, 200)
	for n := 0; n < len(img); n++ {
		_, err := Parse(img[:n])
		if err == nil {
			t.Fatalf("Parse of %d of %d bytes succeeded", n, len(img))
		}
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotImage) {
			t.Fatalf("Parse of %d bytes: %v, want ErrTruncated", n, err)
		}
	}
}

func TestEveryByteFlipped(t *testing.T) {
	img := testImage(t, 200)
	for i := range img {
		bad := append([]byte(nil), img...)
		bad[i] ^= 0x01
		p, err := Parse(bad)
		if err == nil {
			// Fields that no check covers must still read differently.
			if i >= 2 && i < HeaderSize && p.Header != mustHeader(t, img) {
				continue
			}
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
}

func mustHeader(t *testing.T, img []byte) Header {
	h, err := ParseHeader(img)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestCheckChip(t *testing.T) {
	h := mustHeader(t, testImage(t, 64))
	for _, tc := range []struct {
		chip Chip
		rev  Revision
		ok   bool
	}{
		{ESP32C3, 3, true}, {ESP32C3, 4, true}, {ESP32C3, 101, true},
		{ESP32C3, 2, false}, {ESP32S3, 3, false}, {ESP32, 300, false},
	} {
		err := h.CheckChip(tc.chip, tc.rev)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrWrongChip)) {
			t.Errorf("CheckChip(%v, %v) = %v, want ok=%v", tc.chip, tc.rev, err, tc.ok)
		}
	}
}

func TestParseErrors(t *testing.T) {
	img := testImage(t, 64)
	for name, tc := range map[string]struct {
		mut  func([]byte)
		want error
	}{
		"magic":        {func(b []byte) { b[0] = 0xEA }, ErrNotImage},
		"no segments":  {func(b []byte) { b[1] = 0 }, ErrMalformed},
		"17 segments":  {func(b []byte) { b[1] = 17 }, ErrMalformed},
		"hash flag 2":  {func(b []byte) { b[23] = 2 }, ErrMalformed},
		"spi mode":     {func(b []byte) { b[2] = 9 }, ErrMalformed},
		"long segment": {func(b []byte) { binary.LittleEndian.PutUint32(b[28:], 1<<30) }, ErrTruncated},
		"checksum":     {func(b []byte) { b[HeaderSize+8] ^= 0xFF }, ErrChecksum},
		"sha-256":      {func(b []byte) { b[len(b)-1] ^= 1 }, ErrChecksum},
	} {
		b := append([]byte(nil), img...)
		tc.mut(b)
		if _, err := Parse(b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestParseChip(t *testing.T) {
	for _, s := range []string{"esp32c3", "ESP32-C3", "esp32-c3"} {
		if c, err := ParseChip(s); err != nil || c != ESP32C3 {
			t.Errorf("ParseChip(%q) = %v, %v", s, c, err)
		}
	}
	if _, err := ParseChip("esp8266"); err == nil {
		t.Error("esp8266 parsed")
	}
}
