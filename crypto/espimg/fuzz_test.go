package espimg

import (
	"crypto/rand"
	"os"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add(testImage(f, 64))
	f.Add(testImage(f, 1000)[:500])
	f.Add([]byte{0xE9, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := Parse(b)
		if err != nil {
			return
		}
		if img.Len > len(b) || img.SignedLen < img.Len {
			t.Fatalf("Len %d, SignedLen %d of %d bytes", img.Len, img.SignedLen, len(b))
		}
		_ = img.Header.CheckChip(ESP32C3, 3)
	})
}

func FuzzParseSigBlock(f *testing.F) {
	for _, name := range []string{"rsa3072.pem", "ecdsa256.pem"} {
		signed, err := Sign(rand.Reader, testImage(f, 100), testKey(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(signed[len(signed)-SectorSize:][:SigBlockSize])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		blk, err := ParseSigBlock(b)
		if err != nil {
			return
		}
		_ = blk.verify(blk.ImageDigest[:])
	})
}

func FuzzVerify(f *testing.F) {
	k := testKey(f, "ecdsa256.pem")
	signed, err := Sign(rand.Reader, testImage(f, 100), k)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(signed[:SectorSize*2])
	d, _ := KeyDigest(k.Public())
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Verify(b, VerifyOptions{Digests: [][32]byte{d}})
		_, _ = Signatures(b)
	})
}

func FuzzParseKey(f *testing.F) {
	for _, name := range []string{"rsa3072.pem", "ecdsa256.pem", "ecdsa256-params.pem", "rsa3072-pub.pem", "ecdsa256-pub.pem"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := ParsePrivateKey(b); err == nil {
			if _, err := KeyDigest(k.Public()); err != nil {
				t.Fatalf("parsed key has no digest: %v", err)
			}
		}
		if p, err := ParsePublicKey(b); err == nil {
			if _, err := KeyDigest(p); err != nil {
				t.Fatalf("parsed public key has no digest: %v", err)
			}
		}
	})
}
