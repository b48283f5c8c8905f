//go:build js && wasm

package browser

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"trustforge/internal/usererr"

	"github.com/hack-pad/safejs"
)

// HashWorkerURL is where the console serves its hash worker
// (web/hash-worker.js): a dedicated Web Worker that digests long inputs
// with WebCrypto on its own thread (see Sink).
const HashWorkerURL = "/web/hash-worker.js"

// hashWorkerWait bounds how long DigestSink waits for the worker to start
// before it digests on the page instead.
const hashWorkerWait = 5 * time.Second

// errWorkerGone means the hash worker failed: the input it held is lost.
var errWorkerGone = usererr.New("browser", "the hash worker stopped")

// hashWorker is the page's one hash worker. Its inputs are numbered; each
// answer goes to the goroutine waiting for that number.
type hashWorker struct {
	w       safejs.Value
	mu      sync.Mutex
	next    int
	waiting map[int]chan safejs.Value
	dead    bool
	// sealer is how the worker seals (see WorkerSealer), digester how it
	// takes SHA-256 (see WorkerDigester).
	sealer, digester string
	// progress has the progress callbacks of uploads under way, by id.
	progress map[int]func(loaded, total int64)
}

// The page starts one hash worker, on first use, and keeps it. It is the
// one piece of package state here: a worker is a thread of the page, like
// the page's own globals.
var hashWorkerState struct {
	once  sync.Once
	known chan struct{} // closed once w is set, or the worker failed to start
	w     *hashWorker
}

// startHashWorker starts the worker once; it does not wait for it.
func startHashWorker() {
	hashWorkerState.once.Do(func() {
		hashWorkerState.known = make(chan struct{})
		known := func(w *hashWorker) {
			select {
			case <-hashWorkerState.known:
			default:
				hashWorkerState.w = w
				close(hashWorkerState.known)
			}
		}
		if _, err := newHashWorker(known); err != nil {
			known(nil)
		}
	})
}

// readyHashWorker returns the worker if it has started, without waiting.
func readyHashWorker() *hashWorker {
	startHashWorker()
	select {
	case <-hashWorkerState.known:
		if w := hashWorkerState.w; w != nil && !w.isDead() {
			return w
		}
	default:
	}
	return nil
}

// awaitHashWorker returns the worker once it has started, or nil when it
// cannot start (no such script, no Worker) or takes longer than
// hashWorkerWait.
func awaitHashWorker(ctx context.Context) *hashWorker {
	startHashWorker()
	t := time.NewTimer(hashWorkerWait)
	defer t.Stop()
	select {
	case <-hashWorkerState.known:
		if w := hashWorkerState.w; w != nil && !w.isDead() {
			return w
		}
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}

// newHashWorker starts the worker script; ready is called with the worker
// when it reports it is running, or with nil when it fails first.
func newHashWorker(ready func(*hashWorker)) (*hashWorker, error) {
	ctor, err := safejs.Global().Get("Worker")
	if err != nil || ctor.Type() != safejs.TypeFunction {
		return nil, usererr.New("browser", "no Web Workers")
	}
	w, err := ctor.New(HashWorkerURL)
	if err != nil {
		return nil, wrapErr(err)
	}
	hw := &hashWorker{w: w, waiting: map[int]chan safejs.Value{}}
	onMsg, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		if len(args) == 0 {
			return nil
		}
		data, err := args[0].Get("data")
		if err != nil {
			return nil
		}
		if r, err := data.Get("ready"); err == nil && r.Type() == safejs.TypeBoolean {
			str := func(key string) string {
				v, err := data.Get(key)
				if err != nil || v.Type() != safejs.TypeString {
					return ""
				}
				s, _ := v.String()
				return s
			}
			hw.mu.Lock()
			hw.sealer, hw.digester = str("sealer"), str("digester")
			hw.mu.Unlock()
			ready(hw)
			return nil
		}
		if p, err := data.Get("progress"); err == nil && p.Type() == safejs.TypeNumber {
			id, _ := p.Int()
			loaded, _ := data.Get("loaded")
			total, _ := data.Get("total")
			l, _ := loaded.Float()
			t, _ := total.Float()
			hw.mu.Lock()
			f := hw.progress[id]
			hw.mu.Unlock()
			if f != nil {
				f(int64(l), int64(t))
			}
			return nil
		}
		if b, err := data.Get("back"); err == nil && b.Type() == safejs.TypeObject {
			keepSpare(b)
		}
		idv, err := data.Get("id")
		if err != nil {
			return nil
		}
		id, err := idv.Int()
		if err != nil {
			return nil
		}
		hw.mu.Lock()
		ch := hw.waiting[id]
		delete(hw.waiting, id)
		hw.mu.Unlock()
		if ch != nil {
			ch <- data
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	onErr, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		// The script did not load, or the worker failed: never used again.
		hw.mu.Lock()
		hw.dead = true
		waiting := hw.waiting
		hw.waiting = map[int]chan safejs.Value{}
		hw.mu.Unlock()
		for _, ch := range waiting {
			ch <- safejs.Undefined()
		}
		ready(nil)
		return nil
	})
	if err != nil {
		onMsg.Release()
		return nil, err
	}
	// The worker lives as long as the page: its callbacks are never released.
	if err := w.Set("onmessage", onMsg.Value()); err != nil {
		return nil, wrapErr(err)
	}
	if err := w.Set("onerror", onErr.Value()); err != nil {
		return nil, wrapErr(err)
	}
	return hw, nil
}

func (w *hashWorker) isDead() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dead
}

// nextID numbers the next request to the worker.
func (w *hashWorker) nextID() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.next++
	return w.next
}

// buffersToJS copies each of parts into an ArrayBuffer of its own, to be
// transferred to the worker.
func buffersToJS(parts ...[]byte) ([]any, error) {
	bufs := make([]any, 0, len(parts))
	for _, b := range parts {
		v, err := BytesToJS(b)
		if err != nil {
			return nil, err
		}
		buf, err := v.Get("buffer")
		if err != nil {
			return nil, wrapErr(err)
		}
		bufs = append(bufs, buf)
	}
	return bufs, nil
}

// post sends msg to the worker, transferring the ArrayBuffers in transfer.
func (w *hashWorker) post(msg map[string]any, transfer []any) error {
	_, err := Call(w.w, "postMessage", msg, transfer)
	return err
}

// send sends msg, transferring the ArrayBuffers in transfer; the answer to
// id arrives on the channel (undefined should the worker fail).
func (w *hashWorker) send(id int, msg map[string]any, transfer []any) (chan safejs.Value, error) {
	ch := make(chan safejs.Value, 1)
	w.mu.Lock()
	if w.dead {
		w.mu.Unlock()
		return nil, errWorkerGone
	}
	w.waiting[id] = ch
	w.mu.Unlock()
	if err := w.post(msg, transfer); err != nil {
		w.mu.Lock()
		delete(w.waiting, id)
		w.mu.Unlock()
		return nil, err
	}
	return ch, nil
}

// ask sends msg and waits for the answer to input id.
func (w *hashWorker) ask(ctx context.Context, id int, msg map[string]any) (safejs.Value, error) {
	ch, err := w.send(id, msg, nil)
	if err != nil {
		return safejs.Undefined(), err
	}
	select {
	case v := <-ch:
		if v.IsUndefined() {
			return v, errWorkerGone
		}
		return v, nil
	case <-ctx.Done():
		return safejs.Undefined(), ctx.Err()
	}
}

// remoteInput is one Sink's input, held by the worker.
type remoteInput struct {
	w  *hashWorker
	id int
	// direct: every write goes to the worker as it is made (toWorker).
	direct bool
	// reserve is how large the input is expected to grow (0: unknown):
	// the worker makes room for it once.
	reserve int64
}

// newInput numbers a new input for owner; should owner be dropped with
// its input still in the worker, the worker forgets it.
func (w *hashWorker) newInput(owner *Sink) *remoteInput {
	r := newInputFor(w, owner)
	r.reserve = owner.expect
	return r
}

// newInputFor is newInput for any owner.
func newInputFor[T any](w *hashWorker, owner *T) *remoteInput {
	r := &remoteInput{w: w, id: w.nextID()}
	runtime.AddCleanup(owner, func(r *remoteInput) { r.drop() }, r)
	return r
}

// add transfers blocks (Uint8Arrays over whole ArrayBuffers) to the worker;
// they are unusable here afterwards.
func (r *remoteInput) add(blocks []safejs.Value) error {
	for _, b := range blocks {
		buf, err := b.Get("buffer")
		if err != nil {
			return wrapErr(err)
		}
		msg := map[string]any{"op": "add", "id": r.id, "data": buf, "block": sinkBlock, "back": true}
		if r.reserve > 0 {
			msg["reserve"] = float64(r.reserve)
		}
		if err := r.w.post(msg, []any{buf}); err != nil {
			return err
		}
	}
	return nil
}

// drop has the worker forget the input.
func (r *remoteInput) drop() {
	r.w.post(map[string]any{"op": "drop", "id": r.id}, nil)
}

// take has the worker give the input back, as Uint8Arrays.
func (r *remoteInput) take(ctx context.Context) ([]safejs.Value, error) {
	v, err := r.w.ask(ctx, r.id, map[string]any{"op": "take", "id": r.id})
	if err != nil {
		return nil, err
	}
	return partsOf(v)
}

// digest has the worker digest the input with alg. On failure the worker
// gives the input back: parts.
func (r *remoteInput) digest(ctx context.Context, alg string) (sum []byte, parts []safejs.Value, err error) {
	v, err := r.w.ask(ctx, r.id, digestRequest(r.id, alg, false))
	if err != nil {
		return nil, nil, err
	}
	if e, _ := v.Get("error"); e.Type() == safejs.TypeString {
		msg, _ := e.String()
		parts, perr := partsOf(v)
		if perr != nil {
			return nil, nil, perr
		}
		return nil, parts, usererr.Errorf("browser", "digest in the hash worker: %s", msg)
	}
	s, err := v.Get("sum")
	if err != nil {
		return nil, nil, wrapErr(err)
	}
	sum, err = BytesFromJS(s)
	return sum, nil, err
}

// partsOf returns the ArrayBuffers of an answer's parts as Uint8Arrays.
func partsOf(v safejs.Value) ([]safejs.Value, error) {
	ps, err := v.Get("parts")
	if err != nil {
		return nil, wrapErr(err)
	}
	n, err := ps.Length()
	if err != nil {
		return nil, wrapErr(err)
	}
	u8, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return nil, err
	}
	out := make([]safejs.Value, n)
	for i := range out {
		p, err := ps.Index(i)
		if err != nil {
			return nil, wrapErr(err)
		}
		if out[i], err = u8.New(p); err != nil {
			return nil, wrapErr(err)
		}
	}
	return out, nil
}

// digestOneShot has the worker digest with WebCrypto alone (see
// DigestInOneShot).
var digestOneShot atomic.Bool

// DigestInOneShot has the hash worker digest every input with WebCrypto,
// in one go at the end, while on is true, even one it took the SHA-256 of
// as its bytes arrived: what it falls back to where the page refuses
// WebAssembly SIMD. Tests digest both ways and compare each with Go's.
func DigestInOneShot(on bool) { digestOneShot.Store(on) }

// digestRequest is the message asking the worker for input id's digest
// with alg, the input kept there when keep is true.
func digestRequest(id int, alg string, keep bool) map[string]any {
	msg := map[string]any{"op": "digest", "id": id, "alg": alg}
	if keep {
		msg["keep"] = true
	}
	if digestOneShot.Load() {
		msg["oneShot"] = true
	}
	return msg
}

// WorkerDigester reports how the hash worker takes SHA-256, once it has
// started: "wasm" (in WebAssembly, as an input's bytes arrive) or
// "webcrypto" (WebCrypto's one-shot digest, when asked); "" before.
func WorkerDigester() string {
	w := readyHashWorker()
	if w == nil {
		return ""
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.digester
}
