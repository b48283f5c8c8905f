package mcuimg

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"trustforge/crypto/keys"
)

// TestEncryptForDevices signs one clear image and encrypts it to two
// devices: each copy opens with its device's key alone, verifies under the
// signing key, and decrypts back to the clear image.
func TestEncryptForDevices(t *testing.T) {
	t.Parallel()
	edKey := testPrivateKey(t, "ed25519.pem")
	app := readTestdata(t, "app.bin")
	for _, keyLen := range []int{128, 256} {
		factory, _ := keys.Generate(rand.Reader, keys.X25519)
		opts := vectorOptions()
		opts.Key, opts.EncryptTo, opts.EncryptKeyLen, opts.Clear = edKey, factory.Public(), keyLen, true
		clear, err := Sign(app, &opts)
		if err != nil {
			t.Fatal(err)
		}
		img, err := ParsePrefix(clear)
		if err != nil {
			t.Fatal(err)
		}
		trusted := []*keys.PublicKey{edKey.Public()}
		dev1, _ := keys.Generate(rand.Reader, keys.X25519)
		dev2, _ := keys.Generate(rand.Reader, keys.ECDSAP256)
		var copies [][]byte
		for _, dev := range []*keys.PrivateKey{dev1, dev2} {
			enc, err := img.EncryptFor(rand.Reader, dev.Public())
			if err != nil {
				t.Fatalf("AES-%d to %s: %v", keyLen, dev.Algorithm(), err)
			}
			e, err := Parse(enc)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(e.Payload(), img.Payload()) {
				t.Fatal("the payload is still in the clear")
			}
			n := 0
			for _, tlv := range e.Unprotected.TLVs {
				if tlv.Type.IsEncryptionKey() {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d wrapped keys, want 1", n)
			}
			if _, err := e.Verify(VerifyOptions{Keys: trusted, DecryptionKey: dev}); err != nil {
				t.Errorf("AES-%d to %s does not verify with its key: %v", keyLen, dev.Algorithm(), err)
			}
			if _, err := e.Verify(VerifyOptions{Keys: trusted, DecryptionKey: factory}); err == nil {
				t.Error("the factory key still opens a device's copy")
			}
			back, err := e.Decrypt(dev)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := Parse(back); !bytes.Equal(b.Payload(), img.Payload()) {
				t.Error("decrypting gives another payload")
			}
			copies = append(copies, enc)
		}
		if bytes.Equal(copies[0], copies[1]) {
			t.Error("two devices got the same bytes")
		}
	}
}

func TestEncryptForRefuses(t *testing.T) {
	t.Parallel()
	edKey := testPrivateKey(t, "ed25519.pem")
	app := readTestdata(t, "app.bin")
	dev, _ := keys.Generate(rand.Reader, keys.X25519)
	opts := vectorOptions()
	opts.Key = edKey
	plain, _ := Sign(app, &opts)
	opts.EncryptTo = dev.Public()
	encrypted, _ := Sign(app, &opts)
	tests := []struct {
		name string
		img  []byte
		to   *keys.PublicKey
		want error
	}{
		{"no encryption flag", plain, dev.Public(), ErrNotEncrypted},
		{"already encrypted", encrypted, dev.Public(), ErrHashMismatch},
		{"a signing key", encrypted, edKey.Public(), ErrHashMismatch},
		{"no key", encrypted, nil, ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := ParsePrefix(tt.img)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := img.EncryptFor(rand.Reader, tt.to); !errors.Is(err, tt.want) {
				t.Errorf("EncryptFor = %v, want %v", err, tt.want)
			}
		})
	}
}
