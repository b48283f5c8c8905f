//go:build js && wasm

package browser

import (
	"context"

	"trustforge/internal/usererr"

	"github.com/hack-pad/safejs"
)

// KeptPayload is a release bundle's payload made and kept in the
// console's hash worker: the bytes written into it and the age chunks the
// worker seals into it are appended there, the worker digests them, and
// sends them to the server itself (Upload). The ciphertext of a 64 MiB
// image then never crosses into Go's memory and back: it did four times
// (sealed, hashed, copied into the request body and into its Blob), which
// kept the page's thread busy for over a second.
//
// Each write and batch has its place in the payload, from the lengths of
// those before it: batches sealed by the console's other workers (on
// machines with the cores for them) come back through the page and are
// put in place, the hash worker's own are sealed in place. A failed batch
// fails the whole payload, and the caller starts over without one.
type KeptPayload struct {
	in      *remoteInput
	reserve int64
	n       int64
	err     error
}

// KeepPayload starts a payload of about size bytes in the hash worker,
// waiting a few seconds for the worker to start; nil when there is none.
func KeepPayload(ctx context.Context, size int64) *KeptPayload {
	w := awaitHashWorker(ctx)
	if w == nil {
		return nil
	}
	p := &KeptPayload{reserve: size}
	p.in = newInputFor(w, p)
	return p
}

// Write appends b (copied) to the payload.
func (p *KeptPayload) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if len(b) == 0 {
		return 0, nil
	}
	data, err := spareCopy(b)
	if err != nil {
		p.err = err
		return 0, err
	}
	if err := p.in.w.post(map[string]any{"op": "put", "id": p.in.id, "data": data, "at": float64(p.n),
		"n": len(b), "reserve": float64(p.reserve), "back": true}, []any{data}); err != nil {
		p.err = err
		return 0, err
	}
	p.n += int64(len(b))
	return len(b), nil
}

// StartSealChunks has one of the console's workers seal plaintext as
// age's payload chunks from counter (the final one flagged when last; see
// StartSealChunks), to follow what was written and sealed before. key and
// plaintext are copied before it returns; wait reports how the worker did
// (and puts another worker's ciphertext in place): call the waits in
// order, before Sum.
func (p *KeptPayload) StartSealChunks(key []byte, counter uint64, plaintext []byte, last bool) (wait func() error) {
	fail := func(err error) func() error {
		if p.err == nil {
			p.err = err
		}
		return func() error { return err }
	}
	if p.err != nil {
		return fail(p.err)
	}
	own := p.in.w
	w := sealWorker()
	if w == nil || w.isDead() {
		w = own
	}
	msg, bufs, err := sealRequest(key, counter, plaintext, last)
	if err != nil {
		return fail(err)
	}
	at, want := p.n, sealedSize(len(plaintext), last)
	if w == own {
		msg["into"], msg["at"], msg["reserve"] = p.in.id, float64(at), float64(p.reserve)
	} else {
		// Another worker seals into memory the page has had back before.
		out, _, err := spare(want)
		if err != nil {
			return fail(err)
		}
		msg["out"] = out
		bufs = append(bufs, out)
	}
	id := w.nextID()
	msg["id"] = id
	ch, err := w.send(id, msg, bufs)
	if err != nil {
		return fail(err)
	}
	p.n += int64(want)
	return func() error {
		v := <-ch
		if v.IsUndefined() {
			return fail(errWorkerGone)()
		}
		if e, _ := v.Get("error"); e.Type() == safejs.TypeString {
			msg, _ := e.String()
			return fail(usererr.Errorf("browser", "sealing in the worker: %s", msg))()
		}
		n := -1
		if w == own {
			nv, _ := v.Get("n")
			n, _ = nv.Int()
		} else if data, err := v.Get("data"); err == nil && data.Type() == safejs.TypeObject {
			// Another worker's ciphertext (the first n bytes of data),
			// moved on to its place; data then comes back to the page.
			nv, _ := v.Get("n")
			n, _ = nv.Int()
			if bl, err := data.Get("byteLength"); err != nil {
				n = -1
			} else if size, _ := bl.Int(); size < n {
				n = -1
			}
			if n == want {
				if err := own.post(map[string]any{"op": "put", "id": p.in.id, "data": data, "n": n, "at": float64(at),
					"reserve": float64(p.reserve), "back": true}, []any{data}); err != nil {
					return fail(err)()
				}
			}
		}
		if n != want {
			return fail(usererr.Errorf("browser", "the worker sealed %d bytes of %d plaintext bytes, want %d", n, len(plaintext), want))()
		}
		return nil
	}
}

// sealedSize is how long n bytes of age payload are sealed: 16 bytes of
// tag for each chunk of 64 KiB or less, and one chunk at least.
func sealedSize(n int, last bool) int {
	const chunk, tag = 64 << 10, 16
	return n + max(1, (n+chunk-1)/chunk)*tag
}

// Sum returns the SHA-256 of the payload, digested in the worker, which
// keeps the payload.
func (p *KeptPayload) Sum(ctx context.Context) ([]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	v, err := p.in.w.ask(ctx, p.in.id, digestRequest(p.in.id, "SHA-256", true))
	if err != nil {
		p.err = err
		return nil, err
	}
	if e, _ := v.Get("error"); e.Type() == safejs.TypeString {
		msg, _ := e.String()
		p.err = usererr.Errorf("browser", "digest in the hash worker: %s", msg)
		return nil, p.err
	}
	s, err := v.Get("sum")
	if err != nil {
		return nil, wrapErr(err)
	}
	return BytesFromJS(s)
}

// Len returns the payload's length.
func (p *KeptPayload) Len() int64 { return p.n }

// Release has the worker forget the payload.
func (p *KeptPayload) Release() {
	if p.err == nil {
		p.err = usererr.New("browser", "the payload was released")
	}
	p.in.drop()
}

// Upload sends head and then the payload as one request body, with
// XMLHttpRequest from the worker (which has the payload), and returns the
// response whatever its status. progress, when set, is called with the
// bytes sent so far and the total, from a browser event handler: it must
// not block. Cancelling ctx aborts the request.
func (p *KeptPayload) Upload(ctx context.Context, method, url string, header map[string]string, head []byte,
	progress func(sent, total int64)) (*Response, error) {
	if p.err != nil {
		return nil, p.err
	}
	w := p.in.w
	hb, err := buffersToJS(head)
	if err != nil {
		return nil, err
	}
	hdr := make(map[string]any, len(header))
	for k, v := range header {
		hdr[k] = v
	}
	id := w.nextID()
	w.mu.Lock()
	if progress != nil {
		if w.progress == nil {
			w.progress = map[int]func(int64, int64){}
		}
		w.progress[id] = progress
	}
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.progress, id)
		w.mu.Unlock()
	}()
	ch, err := w.send(id, map[string]any{"op": "upload", "id": id, "input": p.in.id, "method": method, "url": url,
		"header": hdr, "head": hb[0]}, hb)
	if err != nil {
		return nil, err
	}
	var v safejs.Value
	select {
	case v = <-ch:
	case <-ctx.Done():
		w.post(map[string]any{"op": "abort", "id": id}, nil)
		return nil, ctx.Err()
	}
	if v.IsUndefined() {
		return nil, errWorkerGone
	}
	if e, _ := v.Get("error"); e.Type() == safejs.TypeString {
		msg, _ := e.String()
		return nil, usererr.Errorf("browser", "%s %s: %s", method, url, msg)
	}
	resp := &Response{}
	st, _ := v.Get("status")
	resp.Status, _ = st.Int()
	if ct, err := v.Get("contentType"); err == nil && ct.Type() == safejs.TypeString {
		resp.ContentType, _ = ct.String()
	}
	if b, err := v.Get("body"); err == nil && b.Type() == safejs.TypeObject {
		if resp.Body, err = BytesFromJS(b); err != nil {
			return nil, err
		}
	}
	return resp, nil
}
