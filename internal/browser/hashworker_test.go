//go:build js && wasm

package browser

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
	"time"
)

// TestDigestSinkInWorker checks the hash worker (run in Chromium by the e2e
// package, where the test server serves web/hash-worker.js): the blocks of
// a long input move to it as they fill, its digest is SHA-256's, a failed
// digest gives every byte back, and the page then digests them itself.
func TestDigestSinkInWorker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if awaitHashWorker(ctx) == nil {
		t.Skip("no hash worker in this page (Node, or no " + HashWorkerURL + ")")
	}
	for _, size := range []int{workerMin, 5*sinkBlock + 12345, 6 * sinkBlock} {
		in := make([]byte, size)
		for i := range in {
			in[i] = byte(i*7 + i>>11)
		}
		want := sha256.Sum256(in)

		var s Sink
		if size == 6*sinkBlock {
			s.Expect(int64(size) - 1000) // a guess a little short costs nothing but time
		}
		for p := in; len(p) > 0; {
			k := min(len(p), 100000) // writes across block boundaries
			s.Write(p[:k])
			p = p[k:]
		}
		if s.remote == nil {
			t.Fatalf("%d bytes: no block moved to the worker", size)
		}
		got, err := DigestSink(ctx, "SHA-256", &s)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if !bytes.Equal(got, want[:]) {
			t.Fatalf("%d bytes: digest %x, want %x", size, got, want)
		}
		// The worker gave the blocks back for the next ones (answers come
		// in order: the digest's after every block's).
		spares.mu.Lock()
		kept := len(spares.bufs[spareClass(sinkBlock)])
		spares.mu.Unlock()
		if kept == 0 || kept > maxSpares {
			t.Fatalf("%d bytes: the page keeps %d of the blocks the worker gave back, want 1 to %d", size, kept, maxSpares)
		}

		// A digest the worker refuses leaves the input whole here.
		s.Reset()
		s.Write(in)
		if _, err := DigestSink(ctx, "SHA-7", &s); err == nil {
			t.Fatalf("%d bytes: SHA-7 digested", size)
		}
		var back bytes.Buffer
		if _, err := s.WriteTo(&back); err != nil {
			t.Fatalf("%d bytes: reading the input back: %v", size, err)
		}
		if !bytes.Equal(back.Bytes(), in) {
			t.Fatalf("%d bytes: %d bytes came back, not the input", size, back.Len())
		}
		if got, err := DigestSink(ctx, "SHA-256", &s); err != nil || !bytes.Equal(got, want[:]) {
			t.Fatalf("%d bytes after a refusal: digest %x, %v; want %x", size, got, err, want)
		}
	}
}
