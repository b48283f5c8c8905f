package webcrypto

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"

	"trustforge/crypto/engine"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
)

// BenchmarkSignEncrypt reports signing (Ed25519) and encrypting (AES-128-CTR
// to an X25519 key) a 16 MiB MCUboot image with Go's code and with this
// package's engine: WebCrypto in the browser, Go natively; then sealing
// that image into a release bundle for one age recipient (bundle-go,
// bundle-engine: age's ChaCha20-Poly1305 in Go, or in the console's
// workers). The e2e package runs it in Chromium, both engines in one tab,
// and natively, and compares medians of several runs.
func BenchmarkSignEncrypt(b *testing.B) {
	key, err := keys.Generate(rand.Reader, keys.Ed25519)
	if err != nil {
		b.Fatal(err)
	}
	dev, err := keys.Generate(rand.Reader, keys.X25519)
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 16<<20)
	for i := range payload {
		payload[i] = byte(i*131 + i>>9)
	}
	for _, e := range []struct {
		name string
		eng  engine.Engine
	}{{"go", engine.Go}, {"engine", New()}} {
		b.Run(e.name, func(b *testing.B) {
			opts := mcuimg.SignOptions{Key: key, EncryptTo: dev.Public(), HeaderSize: 0x200, PadHeader: true, Engine: e.eng}
			b.SetBytes(int64(len(payload)))
			// One image first, untimed, on both sides alike: the worker
			// started and its buffers grown, the Go heap grown.
			if _, err := mcuimg.Sign(payload, &opts); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := mcuimg.Sign(payload, &opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	img, err := mcuimg.Sign(payload, &mcuimg.SignOptions{Key: key, HeaderSize: 0x200, PadHeader: true})
	if err != nil {
		b.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	signer := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	for _, e := range []struct {
		name string
		eng  engine.Engine
	}{{"bundle-go", engine.Go}, {"bundle-engine", New()}} {
		b.Run(e.name, func(b *testing.B) {
			b.SetBytes(int64(len(img)))
			for b.Loop() {
				_, err := bundle.Create(context.Background(), io.Discard, bytes.NewReader(img), bundle.Manifest{
					Product: "thermo-x2", Version: bundle.Version{Major: 1}, Channel: "stable", Created: time.Unix(1e9, 0).UTC(),
				}, bundle.CreateOptions{Key: signer, To: bundle.Recipients{Keys: []bundle.Recipient{id.Recipient()}}, Engine: e.eng})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
