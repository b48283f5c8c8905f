package webcrypto

import (
	"crypto/rand"
	"testing"

	"trustforge/crypto/engine"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
)

// BenchmarkSignEncrypt reports signing (Ed25519) and encrypting (AES-128-CTR
// to an X25519 key) a 16 MiB MCUboot image with Go's code and with this
// package's engine: WebCrypto in the browser, Go natively. The e2e package
// runs it in Chromium.
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
			for b.Loop() {
				if _, err := mcuimg.Sign(payload, &opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
