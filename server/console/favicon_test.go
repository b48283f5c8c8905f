package console

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/png"
	"testing"
)

func TestICOFromPNG(t *testing.T) {
	for _, side := range []int{16, 192, 256} {
		var p bytes.Buffer
		if err := png.Encode(&p, image.NewRGBA(image.Rect(0, 0, side, side))); err != nil {
			t.Fatal(err)
		}
		ico, err := icoFromPNG(p.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		le := binary.LittleEndian
		if le.Uint16(ico[0:]) != 0 || le.Uint16(ico[2:]) != 1 || le.Uint16(ico[4:]) != 1 {
			t.Errorf("%d px: ICONDIR % x", side, ico[:6])
		}
		if w := int(ico[6]); w != side%256 || int(ico[7]) != side%256 {
			t.Errorf("%d px: entry says %d×%d", side, ico[6], ico[7])
		}
		size, off := le.Uint32(ico[14:]), le.Uint32(ico[18:])
		if int(size) != p.Len() || off != 22 || !bytes.Equal(ico[off:], p.Bytes()) {
			t.Errorf("%d px: image at %d, %d bytes; want the PNG at 22", side, off, size)
		}
	}
	var big bytes.Buffer
	png.Encode(&big, image.NewRGBA(image.Rect(0, 0, 300, 10)))
	if _, err := icoFromPNG(big.Bytes()); err == nil {
		t.Error("a 300-pixel PNG made an ICO")
	}
	if _, err := icoFromPNG([]byte("not a png")); err == nil {
		t.Error("junk made an ICO")
	}
}
