package mcuimg

import (
	"errors"
	"testing"

	"trustforge/crypto/keys"
)

// smallImage returns a small signed image with every kind of protected TLV,
// and its signing key.
func smallImage(t testing.TB, key *keys.PrivateKey) []byte {
	t.Helper()
	payload := make([]byte, 300)
	for i := range payload {
		payload[i] = byte(i*7 + 3)
	}
	cnt := uint32(0x01020003)
	opts := SignOptions{
		Key:             key,
		Version:         Version{1, 2, 3, 4},
		HeaderSize:      0x40,
		PadHeader:       true,
		SecurityCounter: &cnt,
		Dependencies:    []Dependency{{ImageID: 1, Version: Version{0, 5, 0, 0}}},
		CustomTLVs:      []TLV{{Type: 0xa0, Value: []byte{1, 2}}},
	}
	img, err := Sign(payload, &opts)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// region names the part of an image a byte offset falls in.
func region(img *Image, off int) string {
	h := int(img.Header.HeaderSize)
	p := h + int(img.Header.ImageSize)
	pr := p + int(img.Header.ProtectedTLVSize)
	switch {
	case off < 4:
		return "magic"
	case off >= 8 && off < 16:
		return "sizes"
	case off >= 16 && off < 20:
		return "flags"
	case off < HeaderSize:
		return "header"
	case off < h:
		return "filler"
	case off < p:
		return "payload"
	case off < pr:
		return "protected"
	}
	for _, t := range img.Unprotected.TLVs {
		if off >= t.Offset && off < t.Offset+tlvHeaderSize {
			return "unprotected TLV header"
		}
		if off >= t.Offset+tlvHeaderSize && off < t.Offset+tlvHeaderSize+len(t.Value) {
			return "unprotected " + t.Type.Name()
		}
	}
	return "unprotected info"
}

// wantErrs lists the errors a flipped bit in each region may give. Bits in
// a signed region must fail verification; which sentinel depends on whether
// the flip breaks the structure first.
var wantErrs = map[string][]error{
	"magic":                  {ErrBadMagic},
	"sizes":                  {ErrBadHeader, ErrTruncated, ErrBadTLV, ErrHashMismatch, ErrTrailingData},
	"flags":                  {ErrHashMismatch, ErrBadHeader},
	"header":                 {ErrHashMismatch},
	"filler":                 {ErrHashMismatch},
	"payload":                {ErrHashMismatch},
	"protected":              {ErrHashMismatch, ErrBadTLV, ErrTruncated},
	"unprotected info":       {ErrBadTLV, ErrTruncated, ErrTrailingData},
	"unprotected TLV header": {ErrBadTLV, ErrNoHash, ErrKeyMismatch, ErrNoSignature, ErrBadSignature, ErrTruncated, ErrDecryptionKey},
	"unprotected SHA256":     {ErrHashMismatch},
	"unprotected KEYHASH":    {ErrKeyMismatch},
	"unprotected ED25519":    {ErrBadSignature},
	"unprotected ECDSASIG":   {ErrBadSignature},
}

func checkFlip(t *testing.T, orig []byte, ref *Image, off, bit int, opts VerifyOptions) {
	t.Helper()
	data := append([]byte(nil), orig...)
	data[off] ^= 1 << bit
	reg := region(ref, off)
	var err error
	img, err := Parse(data)
	if err == nil {
		_, err = img.Verify(opts)
	}
	if err == nil {
		t.Errorf("flip bit %d at %#x (%s): image still verifies", bit, off, reg)
		return
	}
	for _, w := range wantErrs[reg] {
		if errors.Is(err, w) {
			return
		}
	}
	t.Errorf("flip bit %d at %#x (%s): err = %v, want one of %v", bit, off, reg, err, wantErrs[reg])
}

// TestTamperEveryBit flips every bit of a small signed image with protected
// TLVs: each flip must fail with an error naming what broke.
func TestTamperEveryBit(t *testing.T) {
	t.Parallel()
	for _, keyFile := range []string{"ed25519.pem", "ecdsa-p256.pem"} {
		t.Run(keyFile, func(t *testing.T) {
			t.Parallel()
			key := testPrivateKey(t, keyFile)
			orig := smallImage(t, key)
			ref, err := Parse(orig)
			if err != nil {
				t.Fatal(err)
			}
			opts := VerifyOptions{Keys: []*keys.PublicKey{key.Public()}}
			if _, err := ref.Verify(opts); err != nil {
				t.Fatalf("untampered image: %v", err)
			}
			for off := range orig {
				for bit := range 8 {
					checkFlip(t, orig, ref, off, bit, opts)
				}
			}
		})
	}
}

// TestTamperVectors flips bits across every region of the imgtool vectors:
// all of header and TLVs, and a stride through the payload.
func TestTamperVectors(t *testing.T) {
	t.Parallel()
	tests := []struct{ file, key, enc string }{
		{"app-ecdsa-p256.signed.bin", "ecdsa-p256-pub.pem", ""},
		{"app-ed25519.signed.bin", "ed25519-pub.pem", ""},
		{"app-ed25519-encx25519.signed.bin", "ed25519-pub.pem", "x25519-enc.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			orig := readTestdata(t, tt.file)
			ref, err := Parse(orig)
			if err != nil {
				t.Fatal(err)
			}
			opts := VerifyOptions{Keys: []*keys.PublicKey{testPublicKey(t, tt.key)}}
			if tt.enc != "" {
				opts.DecryptionKey = testPrivateKey(t, tt.enc)
			}
			stride := 61
			if testing.Short() {
				stride = 1021
			}
			payloadEnd := int(ref.Header.HeaderSize) + int(ref.Header.ImageSize)
			for off := 0; off < len(orig); off++ {
				if off >= 2*HeaderSize && off < payloadEnd && off%stride != 0 {
					continue
				}
				if ref.region(off) == "unprotected ENCX25519" {
					continue // checked below: a damaged wrapped key does not unwrap
				}
				checkFlip(t, orig, ref, off, off%8, opts)
			}
		})
	}
}

func (img *Image) region(off int) string { return region(img, off) }

func TestTamperWrappedKey(t *testing.T) {
	t.Parallel()
	orig := readTestdata(t, "app-ed25519-encx25519.signed.bin")
	ref, _ := Parse(orig)
	enc, _ := ref.Unprotected.Find(TLVEncX25519)
	priv := testPrivateKey(t, "x25519-enc.pem")
	for i := range enc.Value {
		data := append([]byte(nil), orig...)
		data[enc.Offset+tlvHeaderSize+i] ^= 0x10
		img, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := img.DecryptPayload(priv); !errors.Is(err, ErrDecryptionKey) {
			t.Errorf("flip in ENC_X25519 byte %d: err = %v, want ErrDecryptionKey", i, err)
		}
	}
}

// TestTruncated cuts a signed image at every length: each must be refused
// as truncated (or, below the magic, as not an image).
func TestTruncated(t *testing.T) {
	t.Parallel()
	orig := smallImage(t, testPrivateKey(t, "ed25519.pem"))
	for n := range len(orig) {
		_, err := Parse(orig[:n])
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadTLV) {
			t.Errorf("cut at %#x: err = %v, want ErrTruncated or ErrBadTLV", n, err)
		}
	}
	// The padded vector cut inside the image proper is truncated; cut in the
	// filler it is an image followed by erased flash, without a trailer.
	padded := readTestdata(t, "app-ecdsa-p256-confirm.padded.bin")
	ref, _ := Parse(padded)
	for _, n := range []int{0, 16, 0x200, 0x10200, ref.Size() - 1, ref.Size(), ref.Size() + 100, len(padded) - 0x100} {
		img, err := Parse(padded[:n])
		switch {
		case n < ref.Size():
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("padded cut at %#x: err = %v, want ErrTruncated", n, err)
			}
		case err != nil:
			t.Errorf("padded cut at %#x in the filler: %v", n, err)
		case img.Trailer != nil:
			t.Errorf("padded cut at %#x: trailer still found", n)
		}
	}
	// Cut inside the trailer fields, the set image_ok is no longer part of a
	// trailer and is refused.
	if _, err := Parse(padded[:len(padded)-1]); !errors.Is(err, ErrTrailingData) {
		t.Errorf("padded cut in the trailer magic: err = %v, want ErrTrailingData", err)
	}
}

func TestTrailingData(t *testing.T) {
	t.Parallel()
	orig := readTestdata(t, "app-ed25519.signed.bin")
	padded := readTestdata(t, "app-ecdsa-p256-confirm.padded.bin")
	ref, _ := Parse(padded)
	tests := []struct {
		name string
		data []byte
		want error // nil: accepted
	}{
		{"garbage", append(append([]byte(nil), orig...), "garbage"...), ErrTrailingData},
		{"one zero byte", append(append([]byte(nil), orig...), 0), ErrTrailingData},
		{"erased flash", append(append([]byte(nil), orig...), 0xff, 0xff, 0xff, 0xff), nil},
		{"garbage after erased flash", append(append([]byte(nil), orig...), 0xff, 0xff, 0x12), ErrTrailingData},
		{"byte in slot filler", flipped(padded, ref.Size()+0x100), ErrTrailingData},
		{"byte in swap status", flipped(padded, len(padded)-200), ErrTrailingData},
		{"bad trailer magic", flipped(padded, len(padded)-1), ErrTrailingData},
		{"copy_done set", flipped(padded, len(padded)-32), nil},
		{"garbage after padded slot", append(append([]byte(nil), padded...), 1), ErrTrailingData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.data)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func flipped(b []byte, off int) []byte {
	c := append([]byte(nil), b...)
	c[off] ^= 0xfe
	return c
}

func TestTLVRunsPastEnd(t *testing.T) {
	t.Parallel()
	orig := smallImage(t, testPrivateKey(t, "ed25519.pem"))
	ref, _ := Parse(orig)
	tests := []struct {
		name string
		off  int
		want error
	}{
		{"protected TLV", ref.Protected.TLVs[0].Offset + 2, ErrBadTLV},
		{"unprotected TLV", ref.Unprotected.TLVs[2].Offset + 2, ErrBadTLV},
		{"unprotected total", ref.Unprotected.Offset + 2, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := append([]byte(nil), orig...)
			le.PutUint16(data[tt.off:], 0xfff0)
			_, err := Parse(data)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			t.Log(err)
		})
	}
}
