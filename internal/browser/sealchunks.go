//go:build js && wasm

package browser

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"trustforge/internal/usererr"

	"github.com/hack-pad/safejs"
)

// StartSealChunks has the console's worker (web/hash-worker.js) seal
// plaintext as age's payload chunks from counter, the final one flagged
// when last: ChaCha20-Poly1305 on the worker's thread, where Go in
// WebAssembly would run it on the page's (crypto/engine.SealChunks says
// what the bytes are; it is the reference the worker is tested against).
// key and plaintext are copied before it returns; wait appends the
// ciphertext to dst. Without a worker (none started within a few seconds,
// or it failed) wait fails: the caller seals in Go.
func StartSealChunks(key []byte, counter uint64, plaintext []byte, last bool) (wait func(dst []byte) ([]byte, error)) {
	fail := func(err error) func([]byte) ([]byte, error) {
		return func([]byte) ([]byte, error) { return nil, err }
	}
	w := sealWorker()
	if w == nil {
		return fail(usererr.New("browser", "no worker to seal in"))
	}
	// The plaintext goes in, and the ciphertext comes back in, buffers
	// the page keeps for reuse (see spare): the worker gives the
	// plaintext's back, and the ciphertext's is kept here once copied.
	msg, bufs, err := sealRequest(key, counter, plaintext, last)
	if err != nil {
		return fail(err)
	}
	want := sealedSize(len(plaintext), last)
	out, _, err := spare(want)
	if err != nil {
		return fail(err)
	}
	id := w.nextID()
	msg["id"], msg["out"] = id, out
	ch, err := w.send(id, msg, append(bufs, out))
	if err != nil {
		return fail(err)
	}
	return func(dst []byte) ([]byte, error) {
		v := <-ch
		if v.IsUndefined() {
			return nil, errWorkerGone
		}
		if e, _ := v.Get("error"); e.Type() == safejs.TypeString {
			msg, _ := e.String()
			return nil, usererr.Errorf("browser", "sealing in the worker: %s", msg)
		}
		out, err := v.Get("data")
		if err != nil {
			return nil, wrapErr(err)
		}
		nv, err := v.Get("n")
		if err != nil {
			return nil, wrapErr(err)
		}
		n, _ := nv.Int()
		if n != want {
			return nil, usererr.Errorf("browser", "the worker sealed %d bytes of %d plaintext bytes, want %d", n, len(plaintext), want)
		}
		ctor, err := safejs.Global().Get("Uint8Array")
		if err != nil {
			return nil, err
		}
		u8, err := ctor.New(out, 0, n)
		if err != nil {
			return nil, wrapErr(err)
		}
		dst = slices.Grow(dst, n)
		if _, err := safejs.CopyBytesToGo(dst[len(dst):len(dst)+n], u8); err != nil {
			return nil, wrapErr(err)
		}
		keepSpare(out)
		return dst[:len(dst)+n], nil
	}
}

// sealRequest is the message asking a worker to seal plaintext as age's
// chunks from counter, and the buffers it transfers: the key's, and the
// plaintext's (from spare, given back once sealed). The caller adds id,
// and where the ciphertext goes.
func sealRequest(key []byte, counter uint64, plaintext []byte, last bool) (map[string]any, []any, error) {
	kb, err := buffersToJS(key)
	if err != nil {
		return nil, nil, err
	}
	data, err := spareCopy(plaintext)
	if err != nil {
		return nil, nil, err
	}
	msg := map[string]any{"op": "seal", "key": kb[0], "counter": float64(counter), "last": last,
		"data": data, "n": len(plaintext), "back": true}
	chooseSealer(msg)
	return msg, []any{kb[0], data}, nil
}

// AwaitWorker reports whether the console's worker runs in this page,
// waiting a few seconds for it to start.
func AwaitWorker(ctx context.Context) bool { return awaitHashWorker(ctx) != nil }

// Sealing runs in the hash worker and, where the machine has the cores,
// in up to maxSealHelpers more instances of the same script, started on
// the first seal: chunks are independent, so batches go to them in turn.
const maxSealHelpers = 3

var sealPool struct {
	once    sync.Once
	mu      sync.Mutex
	helpers []*hashWorker // started and ready
	turn    int
}

// sealWorker returns the worker to seal the next batch in: the hash
// worker (waiting a few seconds for it to start) or a ready helper, in
// turn; nil when there is none.
func sealWorker() *hashWorker {
	w := readyHashWorker()
	if w == nil {
		if w = awaitHashWorker(context.Background()); w == nil {
			return nil
		}
	}
	sealPool.once.Do(startSealHelpers)
	sealPool.mu.Lock()
	defer sealPool.mu.Unlock()
	all := []*hashWorker{w}
	for _, h := range sealPool.helpers {
		if !h.isDead() {
			all = append(all, h)
		}
	}
	sealPool.turn++
	return all[sealPool.turn%len(all)]
}

// sealJS has the workers seal in JavaScript alone (see SealInJavaScript).
var sealJS atomic.Bool

// SealInJavaScript has the workers seal age's chunks with their ChaCha20
// and Poly1305 in JavaScript, what they fall back to where the page
// refuses WebAssembly, while on is true: tests seal both ways and compare
// each with Go's.
func SealInJavaScript(on bool) { sealJS.Store(on) }

// chooseSealer marks a seal request for JavaScript alone while
// SealInJavaScript says so.
func chooseSealer(msg map[string]any) {
	if sealJS.Load() {
		msg["js"] = true
	}
}

// WorkerSealer reports how the hash worker seals age's chunks, once it has
// started: "simd" (ChaCha20 in WebAssembly SIMD, Poly1305 in WebAssembly),
// "wasm" (Poly1305 in WebAssembly) or "js"; "" before.
func WorkerSealer() string {
	w := readyHashWorker()
	if w == nil {
		return ""
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sealer
}

// startSealHelpers starts one helper for each core past the page's and
// the hash worker's, up to maxSealHelpers; each joins once it has started.
// On two cores there is none: there the page, the hash worker and a
// helper would take turns on the cores (a 64 MiB publish on the loaded
// two-core test machine stalled more with one, though at a higher load:
// not a clean comparison).
func startSealHelpers() {
	n := 0
	if nav, err := safejs.Global().Get("navigator"); err == nil && nav.Type() == safejs.TypeObject {
		if hc, err := nav.Get("hardwareConcurrency"); err == nil && hc.Type() == safejs.TypeNumber {
			c, _ := hc.Int()
			n = min(maxSealHelpers, c-2)
		}
	}
	for range n {
		newHashWorker(func(h *hashWorker) {
			if h == nil {
				return
			}
			sealPool.mu.Lock()
			sealPool.helpers = append(sealPool.helpers, h)
			sealPool.mu.Unlock()
		})
	}
}

// StartCTR has one of the console's workers encrypt src with AES-CTR from
// the 16-byte counter block (incremented as one 128-bit big-endian number,
// as AESKey.CTR does) with WebCrypto on its own thread. key, counter and
// src are copied before it returns; wait writes the result to dst, which
// must be as long as src. Without a worker, wait fails.
func StartCTR(key, counter, src []byte) (wait func(dst []byte) error) {
	fail := func(err error) func([]byte) error { return func([]byte) error { return err } }
	if len(counter) != 16 {
		return fail(usererr.Errorf("browser", "AES-CTR counter of %d bytes, want 16", len(counter)))
	}
	w := sealWorker()
	if w == nil {
		return fail(usererr.New("browser", "no worker for AES-CTR"))
	}
	return ctrRequest(w, key, counter, src)
}

// ctrRequest sends worker w src to encrypt (see StartCTR), in a buffer
// from the page's pool that the worker gives back with its answer.
func ctrRequest(w *hashWorker, key, counter, src []byte) (wait func(dst []byte) error) {
	fail := func(err error) func([]byte) error { return func([]byte) error { return err } }
	kc, err := buffersToJS(key, counter)
	if err != nil {
		return fail(err)
	}
	data, err := spareCopy(src)
	if err != nil {
		return fail(err)
	}
	id := w.nextID()
	ch, err := w.send(id, map[string]any{"op": "ctr", "id": id, "key": kc[0], "counter": kc[1],
		"data": data, "n": len(src), "back": true}, []any{kc[0], kc[1], data})
	if err != nil {
		return fail(err)
	}
	n := len(src)
	return func(dst []byte) error { return ctrAnswer(<-ch, n, dst) }
}

// An encrypted image's payload is hashed in the hash worker and encrypted
// beside it, in a worker of its own (StartCTRBeside), started on first
// use even on two cores: while the workers run, the page waits for them.
// In a 16 MiB sign and encrypt in Chromium on the project's test machine
// the hash worker takes 50–80 ms of SHA-256 and WebCrypto's AES-CTR about
// as long, one after the other when both run in the hash worker
// (BenchmarkSignEncryptChromium, e2e, four runs each way in turn: 101–122
// ms with the worker beside, 112–155 without).
var ctrHelper struct {
	once   sync.Once
	mu     sync.Mutex
	w      *hashWorker
	failed bool // it did not start
}

// besideOff has every piece hashed and encrypted in the hash worker
// (see EncryptBeside).
var besideOff atomic.Bool

// besideParts counts the pieces sent to encrypt beside the hash worker.
var besideParts atomic.Int64

// EncryptBeside has StartCTRBeside's worker used while on is true (the
// default); tests take both ways.
func EncryptBeside(on bool) { besideOff.Store(!on) }

// EncryptedBeside returns how many pieces have been encrypted beside the
// hash worker, for tests to know which way they went.
func EncryptedBeside() int64 { return besideParts.Load() }

// besideWorker returns the worker that encrypts beside the hash worker,
// starting it on the first call; nil until it is ready, when it failed,
// or while EncryptBeside is off.
func besideWorker() *hashWorker {
	if besideOff.Load() {
		return nil
	}
	ctrHelper.once.Do(func() {
		if _, err := newHashWorker(func(h *hashWorker) {
			ctrHelper.mu.Lock()
			ctrHelper.w, ctrHelper.failed = h, h == nil
			ctrHelper.mu.Unlock()
		}); err != nil {
			ctrHelper.mu.Lock()
			ctrHelper.failed = true
			ctrHelper.mu.Unlock()
		}
	})
	ctrHelper.mu.Lock()
	defer ctrHelper.mu.Unlock()
	if ctrHelper.w == nil || ctrHelper.w.isDead() {
		return nil
	}
	return ctrHelper.w
}

// CanEncryptBeside reports whether a worker is ready to encrypt beside the
// hash worker (StartCTRBeside); the first call starts it, and reports
// false until it has started.
func CanEncryptBeside() bool { return besideWorker() != nil }

// AwaitEncryptBeside waits, within ctx, for the worker StartCTRBeside
// uses to start, and reports whether it did.
func AwaitEncryptBeside(ctx context.Context) bool {
	for !CanEncryptBeside() {
		ctrHelper.mu.Lock()
		failed := ctrHelper.failed
		ctrHelper.mu.Unlock()
		if failed || besideOff.Load() {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}

// StartCTRBeside is StartCTR in the worker that encrypts beside the hash
// worker, so that the hash worker takes a digest of the same bytes
// meanwhile. Without that worker (see CanEncryptBeside), wait fails.
func StartCTRBeside(key, counter, src []byte) (wait func(dst []byte) error) {
	if len(counter) != 16 {
		err := usererr.Errorf("browser", "AES-CTR counter of %d bytes, want 16", len(counter))
		return func([]byte) error { return err }
	}
	w := besideWorker()
	if w == nil {
		err := usererr.New("browser", "no worker to encrypt beside the hash worker")
		return func([]byte) error { return err }
	}
	besideParts.Add(1)
	return ctrRequest(w, key, counter, src)
}

// Workers returns how many workers seal and encrypt side by side (the
// hash worker and its ready helpers); 0 when there is none yet.
func Workers() int {
	if readyHashWorker() == nil {
		return 0
	}
	sealPool.once.Do(startSealHelpers)
	sealPool.mu.Lock()
	defer sealPool.mu.Unlock()
	n := 1
	for _, h := range sealPool.helpers {
		if !h.isDead() {
			n++
		}
	}
	return n
}

// AddSealHelper starts one more sealing worker beside those the machine's
// cores call for, and reports whether it started (within ctx). Tests use it
// to seal across workers on a two-core machine.
func AddSealHelper(ctx context.Context) bool {
	sealPool.once.Do(startSealHelpers)
	ready := make(chan *hashWorker, 1)
	if _, err := newHashWorker(func(h *hashWorker) {
		select {
		case ready <- h:
		default:
		}
	}); err != nil {
		return false
	}
	select {
	case h := <-ready:
		if h == nil {
			return false
		}
		sealPool.mu.Lock()
		sealPool.helpers = append(sealPool.helpers, h)
		sealPool.mu.Unlock()
		return true
	case <-ctx.Done():
		return false
	}
}
