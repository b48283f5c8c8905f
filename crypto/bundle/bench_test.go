package bundle

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"filippo.io/age"
)

// benchSizes are the image payload sizes benchmarked. The 256 MiB case
// shows that memory does not grow with the image (compare B/op); it is
// skipped with -short and in WebAssembly, where it is only slow.
var benchSizes = []struct {
	name string
	size int64
	big  bool
}{
	{"16MiB", 16 << 20, false},
	{"256MiB", 256 << 20, true},
}

func skipBig(b *testing.B, big bool) {
	if big && (testing.Short() || runtime.GOARCH == "wasm") {
		b.Skip("large bundle: skipped with -short and in WebAssembly")
	}
}

// BenchmarkCreate encrypts and signs a generated MCUboot image into a .tfb
// written to io.Discard, with a temporary file as scratch, as the CLI does.
// MB/s counts image bytes. B/op and peak-heap-MiB stay flat as the image
// grows: nothing holds the image.
func BenchmarkCreate(b *testing.B) {
	key := otherKey()
	to := testRecipients(b)
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			skipBig(b, bs.big)
			img := newImageStream(bs.size, 1)
			scratch, err := os.Create(filepath.Join(b.TempDir(), "payload"))
			if err != nil {
				b.Fatal(err)
			}
			defer scratch.Close()
			b.SetBytes(img.size)
			b.ReportAllocs()
			stop := sampleHeap()
			b.ResetTimer()
			for b.Loop() {
				if _, err := scratch.Seek(0, io.SeekStart); err != nil {
					b.Fatal(err)
				}
				if err := scratch.Truncate(0); err != nil {
					b.Fatal(err)
				}
				_, err := Create(context.Background(), io.Discard, img.open(1), testManifest(), CreateOptions{
					Key: key, To: to, Scratch: scratch, Now: fixedNow,
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(stop(), "peak-heap-MiB")
		})
	}
}

// BenchmarkOpen verifies and decrypts a .tfb file to io.Discard, checking
// both hashes. MB/s counts image bytes. peak-heap-MiB stays flat as the
// image grows; B/op does not, because age's stream reader allocates a
// fresh 64 KiB buffer per chunk (garbage at once, never held).
func BenchmarkOpen(b *testing.B) {
	key := otherKey()
	opts := OpenOptions{
		Trusted:    []crypto.PublicKey{key.Public()},
		Identities: []age.Identity{identityFromFile(b, "technician.agekey")},
	}
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			skipBig(b, bs.big)
			img := newImageStream(bs.size, 2)
			path := filepath.Join(b.TempDir(), "release.tfb")
			if err := createBundleFile(path, img.open(2), key, testRecipients(b)); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(img.size)
			b.ReportAllocs()
			stop := sampleHeap()
			b.ResetTimer()
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				_, err = Open(context.Background(), io.Discard, f, opts)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(stop(), "peak-heap-MiB")
		})
	}
}

// createBundleFile writes a bundle of image to path.
func createBundleFile(path string, image io.Reader, key crypto.Signer, to Recipients) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	scratch, err := os.Create(path + ".payload")
	if err != nil {
		return err
	}
	defer os.Remove(scratch.Name())
	defer scratch.Close()
	if _, err := Create(context.Background(), out, image, testManifest(), CreateOptions{
		Key: key, To: to, Scratch: scratch, Now: fixedNow,
	}); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	return out.Close()
}

// sampleHeap collects garbage, then samples the bytes of heap objects (live
// and not yet collected) every millisecond until stop is called, which
// returns the highest value seen in MiB. In WebAssembly, which has no
// preemption, samples are taken only when the benchmark blocks.
func sampleHeap() (stop func() float64) {
	runtime.GC()
	done, result := make(chan struct{}), make(chan uint64)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		return float64(<-result) / (1 << 20)
	}
}
