package bundle

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"testing"

	"filippo.io/age"
)

// fuzzSeeds returns a small genuine bundle and its parts.
func fuzzSeeds(f *testing.F) (tfb, signed, manifest []byte, img []byte) {
	img = makeImage(300, 11)
	tfb, s := createBundle(f, img, otherKey(), testRecipients(f))
	return tfb, s.Bytes(), s.env.msg.Payload, img
}

// errorKnown reports whether err wraps one of the package's sentinels.
func errorKnown(err error) bool {
	for _, e := range []error{ErrNotBundle, ErrUnsupported, ErrTruncated, ErrTooLarge, ErrMalformed,
		ErrUntrustedKey, ErrBadSignature, ErrPayloadMismatch, ErrNoIdentity, ErrDecrypt, ErrNotImage, ErrImageMismatch} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func FuzzDecodeManifest(f *testing.F) {
	_, _, manifest, _ := fuzzSeeds(f)
	f.Add(manifest)
	f.Add([]byte{0xa0})
	f.Add([]byte{0xbf, 0xff})
	f.Add(manifest[:len(manifest)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(b)
		if err != nil {
			if !errorKnown(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		again, err := m.encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted manifest does not re-encode to its bytes: %v", err)
		}
	})
}

func FuzzParseSigned(f *testing.F) {
	_, signed, _, _ := fuzzSeeds(f)
	f.Add(signed)
	f.Add(signed[1:])
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40})
	key := otherKey().Public()
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSigned(b)
		if err != nil {
			if !errorKnown(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if !bytes.Equal(s.Bytes(), b) {
			t.Fatal("accepted bytes differ from Bytes()")
		}
		m, err := s.Verify(key)
		if err != nil {
			if !errorKnown(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("verified manifest is invalid: %v", err)
		}
	})
}

// FuzzOpen runs whole bundles through Open. Only the genuine payload can
// pass the signed manifest's hash, so a successful Open must give the image.
func FuzzOpen(f *testing.F) {
	tfb, signed, _, img := fuzzSeeds(f)
	f.Add(tfb)
	f.Add(tfb[:HeaderSize+len(signed)])
	f.Add(tfb[:HeaderSize])
	f.Add([]byte(Magic))
	opts := OpenOptions{
		Trusted:    []crypto.PublicKey{otherKey().Public()},
		Identities: []age.Identity{identityFromFile(f, "technician.agekey")},
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		_, err := Open(context.Background(), &out, bytes.NewReader(b), opts)
		if err != nil {
			if !errorKnown(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if !bytes.Equal(out.Bytes(), img) {
			t.Fatal("Open succeeded with another image")
		}
	})
}

func FuzzReadHeader(f *testing.F) {
	tfb, signed, _, _ := fuzzSeeds(f)
	f.Add(tfb[:HeaderSize+len(signed)+10])
	f.Add(tfb[:HeaderSize+5])
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		s, err := ReadHeader(r)
		if err != nil {
			if !errorKnown(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if consumed := len(b) - r.Len(); consumed != HeaderSize+len(s.Bytes()) {
			t.Fatalf("ReadHeader consumed %d bytes, want %d", consumed, HeaderSize+len(s.Bytes()))
		}
	})
}

func FuzzImageCheck(f *testing.F) {
	f.Add(makeImage(200, 12), uint16(7))
	f.Add(withProtectedTLVs(50), uint16(64))
	f.Fuzz(func(t *testing.T, img []byte, chunk uint16) {
		whole, errWhole := imageResult(img, len(img)+1)
		parts, errParts := imageResult(img, int(chunk)+1)
		if (errWhole == nil) != (errParts == nil) || whole != parts {
			t.Fatalf("chunked result %+v, %v differs from whole %+v, %v", parts, errParts, whole, errWhole)
		}
		if errWhole != nil && !errors.Is(errWhole, ErrNotImage) {
			t.Fatalf("error is not ErrNotImage: %v", errWhole)
		}
		if errWhole == nil && whole.Size != int64(len(img)) {
			t.Fatalf("size %d, want %d", whole.Size, len(img))
		}
	})
}
