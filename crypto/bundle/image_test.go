package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"

	"trustforge/crypto/mcuimg"
)

// imageResult streams img through an imageCheck in chunks of n bytes.
func imageResult(img []byte, n int) (ImageInfo, error) {
	c := newImageCheck()
	for len(img) > 0 {
		k := min(n, len(img))
		c.Write(img[:k])
		img = img[k:]
	}
	return c.result()
}

// withProtectedTLVs returns an image whose hashed region includes a
// protected TLV area holding a SEC_CNT TLV.
func withProtectedTLVs(payloadSize int) []byte {
	payload := make([]byte, payloadSize)
	fillRandom(payload, 9)
	hdr := imageHeaderFor(uint32(payloadSize))
	binary.LittleEndian.PutUint16(hdr[10:], 12)
	prot := []byte{0x08, 0x69, 12, 0, 0x50, 0, 4, 0, 7, 0, 0, 0}
	img := append(append(hdr, payload...), prot...)
	sum := sha256.Sum256(img)
	return append(img, tlvArea(sum[:])...)
}

func TestImageCheck(t *testing.T) {
	t.Parallel()
	padded := append(makeImage(500, 8), bytes.Repeat([]byte{0xff}, 300)...)
	encrypted := makeImage(500, 10)
	encrypted[16] |= 0x4 // ENCRYPTED_AES128: contents are not hashed plaintext
	encrypted[100] ^= 0xff

	tests := []struct {
		name string
		img  []byte
	}{
		{"imgtool ECDSA image", readTestdata(t, "app-ecdsa-p256.signed.bin")},
		{"imgtool image encrypted to the device", readTestdata(t, "app-ed25519-encx25519.signed.bin")},
		{"protected TLVs", withProtectedTLVs(1000)},
		{"empty payload", withProtectedTLVs(0)},
		{"slot padding after the TLVs", padded},
		{"encrypted flag", encrypted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parsed, err := mcuimg.Parse(tt.img)
			if err != nil {
				t.Fatalf("mcuimg.Parse: %v", err)
			}
			_, hash, _ := parsed.Hash()
			want := ImageInfo{Size: int64(len(tt.img))}
			copy(want.SHA256[:], hash)
			for _, n := range []int{1, 3, 31, 32, 33, 4096, len(tt.img)} {
				got, err := imageResult(tt.img, n)
				if err != nil {
					t.Fatalf("chunks of %d: %v", n, err)
				}
				if got != want {
					t.Fatalf("chunks of %d: %+v, want %+v (mcuimg's)", n, got, want)
				}
			}
		})
	}
}

func TestImageCheckRefuses(t *testing.T) {
	t.Parallel()
	img := withProtectedTLVs(300)
	flip := func(i int) []byte {
		b := bytes.Clone(img)
		b[i] ^= 1
		return b
	}
	twoHashes := append(bytes.Clone(img[:len(img)-40]), 0x07, 0x69, 76, 0)
	twoHashes = append(append(twoHashes, img[len(img)-36:]...), img[len(img)-36:]...)

	tests := []struct {
		name string
		img  []byte
	}{
		{"bad magic", flip(0)},
		{"header size below 32", func() []byte { b := bytes.Clone(img); b[8] = 16; return b }()},
		{"payload changed", flip(100)},
		{"protected TLV changed", flip(imageHeaderSize + 300 + 8)},
		{"SHA256 TLV changed", flip(len(img) - 1)},
		{"TLV info magic changed", flip(len(img) - 40)},
		{"TLV area size too small", func() []byte { b := bytes.Clone(img); b[len(img)-38] = 2; return b }()},
		{"TLV runs past its area", func() []byte { b := bytes.Clone(img); b[len(img)-34] = 33; return b }()},
		{"SHA256 TLV twice", twoHashes},
		{"no SHA256 TLV", func() []byte { b := bytes.Clone(img); b[len(img)-36] = 0x11; return b }()},
	}
	for _, tt := range tests {
		if _, err := imageResult(tt.img, 64); !errors.Is(err, ErrNotImage) {
			t.Errorf("%s: %v, want ErrNotImage", tt.name, err)
		}
	}
	for n := 0; n < len(img); n++ {
		if _, err := imageResult(img[:n], 64); !errors.Is(err, ErrNotImage) {
			t.Fatalf("cut at %d of %d: %v, want ErrNotImage", n, len(img), err)
		}
	}
}
