package espimg

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// refXTS is XTS-AES written straight from IEEE Std 1619-2007, section 5,
// with no library: T = AES-enc(Key2, i) ⊗ α^j, C = AES-enc(Key1, P ⊕ T) ⊕
// T, where the tweak i and the multiplication by α work on 16-byte values
// as little-endian numbers (the standard's byte order). It processes one
// data unit of whole blocks.
func refXTS(key []byte, tweak [16]byte, unit []byte) []byte {
	k1, _ := aes.NewCipher(key[:len(key)/2])
	k2, _ := aes.NewCipher(key[len(key)/2:])
	var t [16]byte
	k2.Encrypt(t[:], tweak[:])
	out := make([]byte, len(unit))
	for j := 0; j < len(unit); j += 16 {
		var x [16]byte
		for i := range x {
			x[i] = unit[j+i] ^ t[i]
		}
		k1.Encrypt(x[:], x[:])
		for i := range x {
			out[j+i] = x[i] ^ t[i]
		}
		// t = t ⊗ α in GF(2^128) mod x^128 + x^7 + x^2 + x + 1.
		carry := t[15] >> 7
		for i := 15; i > 0; i-- {
			t[i] = t[i]<<1 | t[i-1]>>7
		}
		t[0] <<= 1
		if carry != 0 {
			t[0] ^= 0x87
		}
	}
	return out
}

// refFlash is the flash controller's use of XTS as the ESP32-C3's
// documentation describes it, on refXTS: 128-byte units at their flash
// address, the address as the tweak, each unit byte-reversed around the
// cipher. addr must be unit-aligned and len(data) a whole number of units.
func refFlash(key []byte, addr uint32, data []byte) []byte {
	var out []byte
	for off := 0; off < len(data); off += 128 {
		a := addr + uint32(off)
		var tweak [16]byte
		tweak[0], tweak[1], tweak[2], tweak[3] = byte(a), byte(a>>8), byte(a>>16), byte(a>>24)
		unit := reversed(data[off : off+128])
		out = append(out, reversed(refXTS(key, tweak, unit))...)
	}
	return out
}

// TestRefXTSKnownAnswer checks the reference against IEEE 1619's first
// test vector (all-zero keys, data unit 0, 32 zero bytes).
func TestRefXTSKnownAnswer(t *testing.T) {
	want, _ := hex.DecodeString("917cf69ebd68b2ec9b9fe9a3eadda692cd43d2f59598ed858c02c2652fbf922e")
	got := refXTS(make([]byte, 32), [16]byte{}, make([]byte, 32))
	if !bytes.Equal(got, want) {
		t.Fatalf("IEEE 1619 vector 1: %x, want %x", got, want)
	}
}

// TestFlashEncryptionMatchesReference compares EncryptFlash (which uses
// golang.org/x/crypto/xts) with the reference at several addresses, for
// both key sizes, whole and partial units.
func TestFlashEncryptionMatchesReference(t *testing.T) {
	t.Parallel()
	for _, klen := range []int{32, 64} {
		key := make([]byte, klen)
		for i := range key {
			key[i] = byte(i*13 + 1)
		}
		data := make([]byte, 4096)
		for i := range data {
			data[i] = byte(i * 31)
		}
		for _, addr := range []uint32{0, 0x80, 0x1000, 0x8000, 0x10000, 0x123480, 0x3FFF80, 0xFFFFF000} {
			want := refFlash(key, addr, data)
			got, err := EncryptFlash(key, addr, data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("key %d bytes, address %#x: EncryptFlash differs from the reference", klen, addr)
			}
			back, err := DecryptFlash(key, addr, got)
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("address %#x: DecryptFlash does not invert EncryptFlash", addr)
			}
			// A part of the range, 16-byte aligned but not unit aligned,
			// encrypts to the same bytes as inside the whole range.
			part, err := EncryptFlash(key, addr+0x30, data[0x30:0x30+0x150])
			if err != nil || !bytes.Equal(part, want[0x30:0x30+0x150]) {
				t.Fatalf("address %#x: a partial range differs", addr+0x30)
			}
		}
	}
}

type xtsVector struct {
	Key, Plaintext, Ciphertext string
	Address                    uint32
}

// TestFlashEncryptionVectors checks the stored vectors (made with refFlash)
// so that a change of either implementation shows.
func TestFlashEncryptionVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/xts-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []xtsVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 4 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for _, v := range vs {
		key, _ := hex.DecodeString(v.Key)
		pt, _ := hex.DecodeString(v.Plaintext)
		ct, _ := hex.DecodeString(v.Ciphertext)
		got, err := EncryptFlash(key, v.Address, pt)
		if err != nil || !bytes.Equal(got, ct) {
			t.Errorf("address %#x: got %x, want %x (%v)", v.Address, got, ct, err)
		}
		if got := refFlash(key, v.Address, pt); len(pt)%128 == 0 && v.Address%128 == 0 && !bytes.Equal(got, ct) {
			t.Errorf("address %#x: the reference disagrees with the vector", v.Address)
		}
	}
}

func TestFlashEncryptionErrors(t *testing.T) {
	key := make([]byte, 32)
	for name, f := range map[string]func() error{
		"key 16":    func() error { _, err := EncryptFlash(key[:16], 0, make([]byte, 16)); return err },
		"addr 8":    func() error { _, err := EncryptFlash(key, 8, make([]byte, 16)); return err },
		"length 15": func() error { _, err := EncryptFlash(key, 0, make([]byte, 15)); return err },
		"past 4GiB": func() error { _, err := EncryptFlash(key, 0xFFFFFFF0, make([]byte, 32)); return err },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestWriteXTSVectors(t *testing.T) {
	if os.Getenv("ESPIMG_WRITE_VECTORS") == "" {
		t.Skip("set ESPIMG_WRITE_VECTORS=1 to rewrite testdata/xts-vectors.json")
	}
	var vs []xtsVector
	for i, addr := range []uint32{0, 0x1000, 0x8000, 0x10000, 0x3FF80} {
		key := make([]byte, 32+32*(i%2))
		for j := range key {
			key[j] = byte(j ^ (i * 0x55))
		}
		pt := make([]byte, 256)
		for j := range pt {
			pt[j] = byte(j + i)
		}
		vs = append(vs, xtsVector{hex.EncodeToString(key), hex.EncodeToString(pt), hex.EncodeToString(refFlash(key, addr, pt)), addr})
	}
	b, _ := json.MarshalIndent(vs, "", "  ")
	os.WriteFile("testdata/xts-vectors.json", append(b, '\n'), 0o644)
}
