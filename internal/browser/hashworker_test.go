//go:build js && wasm

package browser

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"trustforge/crypto/engine"

	"github.com/hack-pad/safejs"
)

// TestDigestSinkInWorker checks the hash worker (run in Chromium by the e2e
// package, where the test server serves web/hash-worker.js): the blocks of
// a long input move to it as they fill, its digest is SHA-256's, a failed
// digest gives every byte back, and the page then digests them itself.
//
// It runs both ways the worker digests: SHA-256 taken as the bytes arrive
// (in WebAssembly, which Chromium has) and WebCrypto's one-shot digest at
// the end.
func TestDigestSinkInWorker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if awaitHashWorker(ctx) == nil {
		t.Skip("no hash worker in this page (Node, or no " + HashWorkerURL + ")")
	}
	if got := WorkerDigester(); got != "wasm" {
		t.Errorf("the worker takes SHA-256 by %q, want \"wasm\" in Chromium", got)
	}
	for _, oneShot := range []bool{false, true} {
		name := map[bool]string{false: "as-bytes-arrive", true: "one-shot"}[oneShot]
		t.Run(name, func(t *testing.T) {
			DigestInOneShot(oneShot)
			defer DigestInOneShot(false)
			testDigestSinkInWorker(t, ctx)
		})
	}
}

func testDigestSinkInWorker(t *testing.T, ctx context.Context) {
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

// TestWorkerDigestsAsBytesArrive checks the SHA-256 the hash worker takes
// as an input's bytes arrive: a Sink's blocks, pieces put out of order
// (as batches other workers seal come back), and bytes written again once
// hashed, for which it must leave the digest to WebCrypto. Each digest is
// compared with Go's, and the worker's answer says which way it went.
func TestWorkerDigestsAsBytesArrive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := awaitHashWorker(ctx)
	if w == nil {
		t.Skip("no hash worker in this page (Node, or no " + HashWorkerURL + ")")
	}
	in := make([]byte, 3*sinkBlock+12345)
	for i := range in {
		in[i] = byte(i*13 + i>>9)
	}
	digest := func(t *testing.T, id int, wantBy string, want []byte) {
		t.Helper()
		v, err := w.ask(ctx, id, digestRequest(id, "SHA-256", false))
		if err != nil {
			t.Fatal(err)
		}
		if e, _ := v.Get("error"); !e.IsUndefined() {
			t.Fatalf("digest failed: %v", e)
		}
		byv, _ := v.Get("by")
		by, _ := byv.String()
		sv, _ := v.Get("sum")
		got, err := BytesFromJS(sv)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(want)
		if !bytes.Equal(got, sum[:]) {
			t.Fatalf("digest %x (by %s), want %x", got, by, sum)
		}
		if by != wantBy {
			t.Fatalf("digested by %q, want %q", by, wantBy)
		}
	}
	put := func(t *testing.T, id int, b []byte, at int) {
		t.Helper()
		data, err := spareCopy(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.post(map[string]any{"op": "put", "id": id, "data": data, "n": len(b), "at": float64(at)}, []any{data}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("sink", func(t *testing.T) {
		var s Sink
		for p := in; len(p) > 0; {
			k := min(len(p), 77777)
			s.Write(p[:k])
			p = p[k:]
		}
		if err := s.ToWorker(); err != nil {
			t.Fatal(err)
		}
		digest(t, s.remote.id, "wasm", in)
		s.Reset()
	})
	t.Run("out-of-order", func(t *testing.T) {
		id := w.nextID()
		defer w.post(map[string]any{"op": "drop", "id": id}, nil)
		// Pieces with gaps before them wait for the gap to fill, one
		// of them overlapping the piece before it.
		cuts := [][2]int{{2 * sinkBlock, len(in)}, {sinkBlock, 2*sinkBlock + 100}, {0, 1000}, {1000, sinkBlock}}
		for _, c := range cuts {
			put(t, id, in[c[0]:c[1]], c[0])
		}
		digest(t, id, "wasm", in)
	})
	t.Run("written-again", func(t *testing.T) {
		id := w.nextID()
		defer w.post(map[string]any{"op": "drop", "id": id}, nil)
		put(t, id, in[:sinkBlock], 0)
		changed := bytes.Clone(in)
		for i := 500; i < 600; i++ {
			changed[i] ^= 0xff
		}
		put(t, id, changed[500:600], 500) // hashed already: written again
		put(t, id, in[sinkBlock:], sinkBlock)
		digest(t, id, "webcrypto", changed)
	})
	t.Run("one-shot", func(t *testing.T) {
		DigestInOneShot(true)
		defer DigestInOneShot(false)
		id := w.nextID()
		defer w.post(map[string]any{"op": "drop", "id": id}, nil)
		put(t, id, in, 0)
		digest(t, id, "webcrypto", in)
	})
}

// TestStartSealChunksReusesBuffers checks that sealing through
// StartSealChunks leaves the page with the buffers it used, the
// plaintext's (given back by the worker) and the ciphertext's (kept once
// copied), so that the next batch is written into memory already mapped
// in; and that the bytes are crypto/engine's. Run in Chromium by the e2e
// package.
func TestStartSealChunksReusesBuffers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if awaitHashWorker(ctx) == nil {
		t.Skip("no hash worker in this page (Node, or no " + HashWorkerURL + ")")
	}
	key := bytes.Repeat([]byte{7}, 32)
	plain := make([]byte, sinkBlock)
	for i := range plain {
		plain[i] = byte(i * 31)
	}
	// The page's pool starts empty: what is in it at the end came from
	// these batches.
	spares.mu.Lock()
	spares.bufs = [len(spareSizes)][]safejs.Value{}
	spares.mu.Unlock()
	pooled := func(n int) int {
		spares.mu.Lock()
		defer spares.mu.Unlock()
		return len(spares.bufs[spareClass(n)])
	}
	for batch := range 3 {
		counter := uint64(batch * sinkBlock / (64 << 10))
		last := batch == 2
		got, err := StartSealChunks(key, counter, plain, last)(nil)
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		want, err := engine.SealChunks(nil, key, counter, plain, last)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("batch %d: the worker's %d bytes are not crypto/engine's %d", batch, len(got), len(want))
		}
	}
	if n := pooled(sinkBlock); n == 0 {
		t.Error("no plaintext buffer came back to the page")
	}
	if n := pooled(sealedSize(sinkBlock, false)); n == 0 {
		t.Error("no ciphertext buffer was kept for the next batch")
	}
}
