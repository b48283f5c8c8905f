package mcuimg

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"trustforge/crypto/keys"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testPublicKey(t testing.TB, name string) *keys.PublicKey {
	t.Helper()
	k, err := keys.ParsePublicKey(readTestdata(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k
}

func testPrivateKey(t testing.TB, name string) *keys.PrivateKey {
	t.Helper()
	k, err := keys.ParsePrivateKey(readTestdata(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k
}

func TestVectorsVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, key, other, enc string
		sig                   TLVType
		trailer               bool
	}{
		{"app-ecdsa-p256.signed.bin", "ecdsa-p256-pub.pem", "ed25519-pub.pem", "", TLVECDSASig, false},
		{"app-ed25519.signed.bin", "ed25519-pub.pem", "ecdsa-p256-pub.pem", "", TLVEd25519, false},
		{"app-ed25519-encx25519.signed.bin", "ed25519-pub.pem", "ecdsa-p256-pub.pem", "x25519-enc.pem", TLVEd25519, false},
		{"app-ecdsa-p256-confirm.padded.bin", "ecdsa-p256-pub.pem", "ed25519-pub.pem", "", TLVECDSASig, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			img, err := Parse(readTestdata(t, tt.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got, want := img.Version(), (Version{1, 2, 3, 4}); got != want {
				t.Errorf("Version = %v, want %v", got, want)
			}
			if got := img.Trailer != nil; got != tt.trailer {
				t.Errorf("trailer present = %v, want %v", got, tt.trailer)
			}
			if tt.trailer && !img.Trailer.ImageOKSet() {
				t.Errorf("image_ok = %#x, want set", img.Trailer.ImageOK)
			}
			opts := VerifyOptions{Keys: []*keys.PublicKey{testPublicKey(t, tt.key)}}
			if tt.enc != "" {
				opts.DecryptionKey = testPrivateKey(t, tt.enc)
			}
			v, err := img.Verify(opts)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if v.Signature != tt.sig {
				t.Errorf("signature = %v, want %v", v.Signature, tt.sig)
			}
			if _, err := img.Verify(VerifyOptions{Keys: []*keys.PublicKey{testPublicKey(t, tt.other)}, DecryptionKey: opts.DecryptionKey}); !errors.Is(err, ErrKeyMismatch) {
				t.Errorf("Verify with %s: err = %v, want ErrKeyMismatch", tt.other, err)
			}
			if tt.enc != "" {
				if _, err := img.Verify(VerifyOptions{Keys: opts.Keys}); !errors.Is(err, ErrHashMismatch) || !errors.Is(err, ErrEncrypted) {
					t.Errorf("Verify without decryption key: err = %v, want ErrHashMismatch and ErrEncrypted", err)
				}
			}
		})
	}
}

func TestVectorDecrypt(t *testing.T) {
	t.Parallel()
	img, err := Parse(readTestdata(t, "app-ed25519-encx25519.signed.bin"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := img.DecryptPayload(testPrivateKey(t, "x25519-enc.pem"))
	if err != nil {
		t.Fatalf("DecryptPayload: %v", err)
	}
	if want := readTestdata(t, "app.bin"); !bytes.Equal(got, want) {
		t.Errorf("decrypted payload differs from app.bin")
	}
}
