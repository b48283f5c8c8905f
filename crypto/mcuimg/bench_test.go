package mcuimg

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"

	"trustforge/crypto/keys"
)

var benchSizes = []int{1 << 20, 16 << 20}

func benchPayload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*131 + i>>9)
	}
	return p
}

// reportCopies reports how many bytes each operation allocated, as a
// multiple of the image size: the memory goal is a few copies at most.
func reportCopies(b *testing.B, size int, run func()) {
	b.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(size), "copies/op")
}

func benchSign(b *testing.B, keyFile string, encrypt bool) {
	key := testPrivateKey(b, keyFile)
	var enc *keys.PublicKey
	if encrypt {
		enc = testPrivateKey(b, "x25519-enc.pem").Public()
	}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", n>>20), func(b *testing.B) {
			payload := benchPayload(n)
			opts := SignOptions{Key: key, Version: Version{1, 2, 3, 4}, HeaderSize: 0x200, PadHeader: true, Align: 8, EncryptTo: enc}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			reportCopies(b, n, func() {
				if _, err := Sign(payload, &opts); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkSignEd25519(b *testing.B)        { benchSign(b, "ed25519.pem", false) }
func BenchmarkSignECDSAP256(b *testing.B)      { benchSign(b, "ecdsa-p256.pem", false) }
func BenchmarkEncryptSignEd25519(b *testing.B) { benchSign(b, "ed25519.pem", true) }

func BenchmarkVerify(b *testing.B) {
	for _, keyFile := range []string{"ed25519.pem", "ecdsa-p256.pem"} {
		key := testPrivateKey(b, keyFile)
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%dMiB", key.Algorithm(), n>>20), func(b *testing.B) {
				signed, err := Sign(benchPayload(n), &SignOptions{Key: key, HeaderSize: 0x200, PadHeader: true})
				if err != nil {
					b.Fatal(err)
				}
				opts := VerifyOptions{Keys: []*keys.PublicKey{key.Public()}}
				b.SetBytes(int64(n))
				b.ReportAllocs()
				reportCopies(b, n, func() {
					img, err := Parse(signed)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := img.Verify(opts); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkDecryptVerify is what a bootloader does with an encrypted update.
func BenchmarkDecryptVerify(b *testing.B) {
	key := testPrivateKey(b, "ed25519.pem")
	x := testPrivateKey(b, "x25519-enc.pem")
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", n>>20), func(b *testing.B) {
			signed, err := Sign(benchPayload(n), &SignOptions{Key: key, HeaderSize: 0x200, PadHeader: true, EncryptTo: x.Public()})
			if err != nil {
				b.Fatal(err)
			}
			opts := VerifyOptions{Keys: []*keys.PublicKey{key.Public()}, DecryptionKey: x}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			reportCopies(b, n, func() {
				img, err := Parse(signed)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := img.Verify(opts); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkSignToStream signs and encrypts from a reader to a writer, as
// the command line does with files: memory stays a few chunks, whatever the
// image size.
func BenchmarkSignToStream(b *testing.B) {
	key := testPrivateKey(b, "ed25519.pem")
	enc := testPrivateKey(b, "x25519-enc.pem").Public()
	n := 16 << 20
	payload := benchPayload(n)
	opts := SignOptions{Key: key, Version: Version{1, 2, 3, 4}, HeaderSize: 0x200, PadHeader: true, Align: 8, EncryptTo: enc}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	reportCopies(b, n, func() {
		if _, err := SignTo(context.Background(), io.Discard, bytes.NewReader(payload), int64(n), &opts); err != nil {
			b.Fatal(err)
		}
	})
}
