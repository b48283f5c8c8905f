//go:build js && wasm

package browser

import (
	"sync"

	"trustforge/internal/usererr"

	"github.com/hack-pad/safejs"
)

// Pieces the page sends the console's workers (a Sink's blocks,
// StartWriteCTR's pieces, a kept payload's plaintext, and the buffers a
// helper seals a batch into) go in ArrayBuffers of one of spareSizes that
// the worker gives back once it has copied or sealed them, so the page
// keeps writing into memory already mapped in: on the project's test
// machine a 64 MiB publish wrote over 100 MiB of fresh memory on the page
// alone, at about 4 ms a MiB, against well under 0.1 ms a MiB for memory
// written before. The page keeps up to maxSpares of each size (under
// 20 MiB in all) for its life, whichever worker gave them back.
const (
	spareSize = 256 << 10
	maxSpares = 8
)

// spareSizes are the sizes of ArrayBuffer the page keeps for reuse, from
// the smallest: the last is a sealed batch of age's chunks
// (crypto/bundle's sealBatch of plaintext, 1 MiB).
var spareSizes = [...]int{spareSize, sinkBlock, sinkBlock + sinkBlock/(64<<10)*16}

// spares are the ArrayBuffers workers gave back, by size (see spare).
var spares struct {
	mu   sync.Mutex
	bufs [len(spareSizes)][]safejs.Value
}

// spareClass returns the index in spareSizes of the buffer a piece of n
// bytes goes in, or -1 for a size kept in no pool.
func spareClass(n int) int {
	for i, size := range spareSizes {
		if n > size/2 && n <= size {
			return i
		}
	}
	return -1
}

// keepSpare keeps an ArrayBuffer the worker gave back, for spare.
func keepSpare(b safejs.Value) {
	n, err := b.Get("byteLength")
	if err != nil || n.Type() != safejs.TypeNumber {
		return
	}
	size, _ := n.Int()
	c := spareClass(size)
	if c < 0 || spareSizes[c] != size {
		return
	}
	spares.mu.Lock()
	defer spares.mu.Unlock()
	if len(spares.bufs[c]) < maxSpares {
		spares.bufs[c] = append(spares.bufs[c], b)
	}
}

// spare returns an ArrayBuffer for n bytes, one given back when n is
// close to one of spareSizes, and a Uint8Array over its first n bytes.
func spare(n int) (buf, u8 safejs.Value, err error) {
	size := n
	if c := spareClass(n); c >= 0 {
		size = spareSizes[c]
		spares.mu.Lock()
		if k := len(spares.bufs[c]); k > 0 {
			buf = spares.bufs[c][k-1]
			spares.bufs[c] = spares.bufs[c][:k-1]
		}
		spares.mu.Unlock()
	}
	g := safejs.Global()
	if buf.IsUndefined() {
		ab, err := g.Get("ArrayBuffer")
		if err != nil {
			return buf, u8, err
		}
		if buf, err = ab.New(size); err != nil {
			return buf, u8, wrapErr(err)
		}
	}
	ctor, err := g.Get("Uint8Array")
	if err != nil {
		return buf, u8, err
	}
	u8, err = ctor.New(buf, 0, n)
	return buf, u8, wrapErr(err)
}

// spareCopy copies b into an ArrayBuffer from spare, for a message that
// transfers it to the worker and has it given back.
func spareCopy(b []byte) (safejs.Value, error) {
	buf, u8, err := spare(len(b))
	if err != nil {
		return buf, err
	}
	if _, err := safejs.CopyBytesToJS(u8, b); err != nil {
		return buf, wrapErr(err)
	}
	return buf, nil
}

// ToWorker moves the sink to the hash worker for good: the bytes it holds
// go there, and every later write goes there as it is made (writeRemote),
// so that pieces written with StartWriteCTR join in order. It fails, with
// the sink unchanged, when the worker has not started.
func (s *Sink) ToWorker() error {
	if s.InWorker() {
		return nil
	}
	if s.remote == nil {
		w := readyHashWorker()
		if w == nil {
			return usererr.New("browser", "the hash worker has not started")
		}
		s.remote = w.newInput(s)
	}
	if err := s.flushRemote(); err != nil {
		return err
	}
	s.remote.direct = true
	return nil
}

// InWorker reports whether the sink's bytes go to the hash worker as they
// are written (ToWorker).
func (s *Sink) InWorker() bool { return s.remote != nil && s.remote.direct }

// writeRemote copies p to the sink's input in the hash worker.
func (s *Sink) writeRemote(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := min(len(p)-n, sinkBlock)
		buf, u8, err := spare(k)
		if err != nil {
			return n, err
		}
		if _, err := safejs.CopyBytesToJS(u8, p[n:n+k]); err != nil {
			return n, wrapErr(err)
		}
		msg := map[string]any{"op": "add", "id": s.remote.id, "data": buf, "n": k, "block": sinkBlock, "back": true}
		if s.remote.reserve > 0 {
			msg["reserve"] = float64(s.remote.reserve)
		}
		if err := s.remote.w.post(msg, []any{buf}); err != nil {
			return n, err
		}
		n += k
		s.n += k
	}
	return n, nil
}

// StartWriteCTR writes src to the sink, as Write does, and has the hash
// worker encrypt the same bytes with AES-CTR under key from the 16-byte
// counter block (incremented as one 128-bit big-endian number, as
// AESKey.CTR does): the bytes leave Go's memory once, for the digest and
// the cipher both, and the worker joins and encrypts them off the page's
// thread. The sink moves to the worker for good first (it must have
// started). When StartWriteCTR returns, src may be reused.
//
// On an error nothing was written. wait writes the ciphertext to dst,
// which must be as long as src; should it fail, src is in the sink all the
// same, and the caller encrypts it itself.
func (s *Sink) StartWriteCTR(key, counter, src []byte) (wait func(dst []byte) error, err error) {
	if len(counter) != 16 {
		return nil, usererr.Errorf("browser", "AES-CTR counter of %d bytes, want 16", len(counter))
	}
	if err := s.ToWorker(); err != nil {
		return nil, err
	}
	w := s.remote.w
	data, u8, err := spare(len(src))
	if err != nil {
		return nil, err
	}
	if _, err := safejs.CopyBytesToJS(u8, src); err != nil {
		return nil, wrapErr(err)
	}
	kc, err := buffersToJS(key, counter)
	if err != nil {
		return nil, err
	}
	bufs := append([]any{data}, kc...)
	id := w.nextID()
	msg := map[string]any{"op": "hashctr", "id": id, "input": s.remote.id, "block": sinkBlock,
		"n": len(src), "data": data, "key": bufs[1], "counter": bufs[2]}
	if s.remote.reserve > 0 {
		msg["reserve"] = float64(s.remote.reserve)
	}
	ch, err := w.send(id, msg, bufs)
	if err != nil {
		return nil, err
	}
	s.n += len(src)
	n := len(src)
	return func(dst []byte) error { return ctrAnswer(<-ch, n, dst) }, nil
}

// ctrAnswer writes the worker's answer v to an AES-CTR request of n bytes
// to dst.
func ctrAnswer(v safejs.Value, n int, dst []byte) error {
	if v.IsUndefined() {
		return errWorkerGone
	}
	if e, _ := v.Get("error"); e.Type() == safejs.TypeString {
		msg, _ := e.String()
		return usererr.Errorf("browser", "AES-CTR in the worker: %s", msg)
	}
	out, err := v.Get("data")
	if err != nil {
		return wrapErr(err)
	}
	u8, err := asUint8Array(out)
	if err != nil {
		return err
	}
	if k, err := u8.Length(); err != nil || k != n || len(dst) < n {
		return usererr.Errorf("browser", "AES-CTR gave %d bytes for %d", k, n)
	}
	if _, err := safejs.CopyBytesToGo(dst[:n], u8); err != nil {
		return wrapErr(err)
	}
	return nil
}
