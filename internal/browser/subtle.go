//go:build js && wasm

package browser

import (
	"context"
	"io"

	"trustforge/internal/usererr"

	"github.com/hack-pad/safejs"
)

// ErrNoSubtle means the page has no WebCrypto (crypto.subtle exists only in
// secure contexts: https or localhost).
var ErrNoSubtle = usererr.New("browser", "no WebCrypto (crypto.subtle) in this page")

// subtleCrypto returns crypto.subtle.
func subtleCrypto() (safejs.Value, error) {
	c, err := safejs.Global().Get("crypto")
	if err != nil || c.Type() != safejs.TypeObject {
		return safejs.Undefined(), ErrNoSubtle
	}
	s, err := c.Get("subtle")
	if err != nil || s.Type() != safejs.TypeObject {
		return safejs.Undefined(), ErrNoSubtle
	}
	return s, nil
}

// HasSubtle reports whether the page has WebCrypto.
func HasSubtle() bool {
	_, err := subtleCrypto()
	return err == nil
}

// Digest returns the WebCrypto digest of the concatenation of parts: alg
// is "SHA-256", "SHA-384" or "SHA-512". WebCrypto digests in one call, so
// parts are the whole input; they are copied once, into one JavaScript
// buffer. It waits for a promise: call it from a goroutine, never a
// JavaScript callback.
func Digest(ctx context.Context, alg string, parts ...[]byte) ([]byte, error) {
	s, err := subtleCrypto()
	if err != nil {
		return nil, err
	}
	in, err := concatToJS(parts)
	if err != nil {
		return nil, err
	}
	p, err := Call(s, "digest", alg, in)
	if err != nil {
		return nil, err
	}
	v, err := Await(ctx, p)
	if err != nil {
		return nil, err
	}
	return BytesFromJS(v)
}

// AESKey is an AES key imported into WebCrypto for AES-CTR.
type AESKey struct {
	key safejs.Value
}

// ImportAESCTR imports a raw 16-, 24- or 32-byte AES key for AES-CTR. The
// key is not extractable. It waits for a promise.
func ImportAESCTR(ctx context.Context, raw []byte) (*AESKey, error) {
	s, err := subtleCrypto()
	if err != nil {
		return nil, err
	}
	in, err := BytesToJS(raw)
	if err != nil {
		return nil, err
	}
	p, err := Call(s, "importKey", "raw", in, "AES-CTR", false, []any{"encrypt"})
	if err != nil {
		return nil, err
	}
	k, err := Await(ctx, p)
	if err != nil {
		return nil, usererr.Errorf("browser", "importing an AES-CTR key: %w", err)
	}
	return &AESKey{key: k}, nil
}

// CTR encrypts (or decrypts: it is the same) src with AES-CTR from the
// 16-byte counter block, incremented as one 128-bit big-endian number, and
// writes the result to dst, which must be as long as src (it may be src).
// It waits for a promise.
func (k *AESKey) CTR(ctx context.Context, counter, dst, src []byte) error {
	if len(dst) < len(src) {
		return usererr.Errorf("browser", "AES-CTR output of %d bytes for %d", len(dst), len(src))
	}
	v, err := k.ctr(ctx, counter, src)
	if err != nil {
		return err
	}
	u8, err := asUint8Array(v)
	if err != nil {
		return err
	}
	if n, err := u8.Length(); err != nil || n != len(src) {
		return usererr.Errorf("browser", "AES-CTR gave %d bytes for %d", n, len(src))
	}
	if _, err := safejs.CopyBytesToGo(dst[:len(src)], u8); err != nil {
		return wrapErr(err)
	}
	return nil
}

func (k *AESKey) ctr(ctx context.Context, counter, data []byte) (safejs.Value, error) {
	if len(counter) != 16 {
		return safejs.Undefined(), usererr.Errorf("browser", "AES-CTR counter of %d bytes, want 16", len(counter))
	}
	s, err := subtleCrypto()
	if err != nil {
		return safejs.Undefined(), err
	}
	ctr, err := BytesToJS(counter)
	if err != nil {
		return safejs.Undefined(), err
	}
	in, err := BytesToJS(data)
	if err != nil {
		return safejs.Undefined(), err
	}
	p, err := Call(s, "encrypt", map[string]any{"name": "AES-CTR", "counter": ctr, "length": 128}, k.key, in)
	if err != nil {
		return safejs.Undefined(), err
	}
	return Await(ctx, p)
}

// concatToJS returns a new Uint8Array holding the concatenation of parts.
func concatToJS(parts [][]byte) (safejs.Value, error) {
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	ctor, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return safejs.Undefined(), err
	}
	arr, err := ctor.New(total)
	if err != nil {
		return safejs.Undefined(), wrapErr(err)
	}
	off := 0
	for _, p := range parts {
		if len(p) == 0 {
			continue
		}
		dst, err := Call(arr, "subarray", off, off+len(p))
		if err != nil {
			return safejs.Undefined(), err
		}
		if _, err := safejs.CopyBytesToJS(dst, p); err != nil {
			return safejs.Undefined(), wrapErr(err)
		}
		off += len(p)
	}
	return arr, nil
}

// Sink collects bytes in JavaScript memory, in blocks of a fixed size, for
// a one-shot WebCrypto call over a long stream (DigestSink): each Write is
// one native copy out of the WebAssembly memory, and the Go heap does not
// hold the stream. Once the console's hash worker (web/hash-worker.js) has
// started, full blocks move on to it as they fill (transferred, not
// copied), and DigestSink digests there: Chromium digests on the calling
// thread, which froze the page for as long as a long image took. The
// worker takes their SHA-256 as they arrive (in WebAssembly, where the page
// has its SIMD), so that DigestSink only finishes it; WebCrypto digests
// the whole input at the end where it cannot. Without the worker, the
// blocks stay here and the page digests them. The zero value is empty and
// ready.
type Sink struct {
	blocks []safejs.Value // blocks still here, the last one being filled
	used   int            // bytes in the last block
	n      int
	// remote holds the first blocks, in the hash worker, once sent there.
	remote *remoteInput
	// expect is how many bytes the sink is expected to hold (Expect).
	expect int64
}

// Expect tells the sink about how many bytes are coming, before the first
// write: the hash worker then makes room for them once, instead of
// growing (into fresh memory, which costs more than the copy) as they
// arrive. A wrong guess costs only time.
func (s *Sink) Expect(n int64) { s.expect = n }

// sinkBlock is the size of a Sink's blocks.
const sinkBlock = 1 << 20

// Write copies p into the sink.
func (s *Sink) Write(p []byte) (int, error) {
	if s.InWorker() {
		return s.writeRemote(p)
	}
	n := len(p)
	for len(p) > 0 {
		if len(s.blocks) == 0 || s.used == sinkBlock {
			if len(s.blocks) > 0 {
				s.handOn()
			}
			blk, err := newSinkBlock()
			if err != nil {
				return n - len(p), err
			}
			s.blocks, s.used = append(s.blocks, blk), 0
		}
		k := min(len(p), sinkBlock-s.used)
		dst, err := Call(s.blocks[len(s.blocks)-1], "subarray", s.used, s.used+k)
		if err != nil {
			return n - len(p), err
		}
		if _, err := safejs.CopyBytesToJS(dst, p[:k]); err != nil {
			return n - len(p), wrapErr(err)
		}
		s.used += k
		s.n += k
		p = p[k:]
	}
	return n, nil
}

// newSinkBlock returns a block to fill: memory a worker gave back when
// there is some (see spare). Its bytes are not zeroed: a sink reads only
// what it wrote.
func newSinkBlock() (safejs.Value, error) {
	_, u8, err := spare(sinkBlock)
	return u8, err
}

// handOn moves the full blocks to the hash worker, when it is ready. It
// never waits for it: until it is, they stay here.
func (s *Sink) handOn() {
	full := s.blocks
	if s.used < sinkBlock {
		full = full[:len(full)-1]
	}
	if len(full) == 0 {
		return
	}
	if s.remote == nil {
		w := readyHashWorker()
		if w == nil {
			return
		}
		s.remote = w.newInput(s)
	}
	if err := s.remote.add(full); err != nil {
		return // kept here; DigestSink finds them
	}
	s.blocks = s.blocks[len(full):]
}

// local brings the blocks the hash worker holds back into the sink.
func (s *Sink) local(ctx context.Context) error {
	if s.remote == nil {
		return nil
	}
	parts, err := s.remote.take(ctx)
	if err != nil {
		return err
	}
	s.remote = nil
	if len(s.blocks) == 0 {
		// The worker held every byte, in full blocks but the last.
		s.used = s.n - max(len(parts)-1, 0)*sinkBlock
	}
	s.blocks = append(parts, s.blocks...)
	return nil
}

// WriteTo writes the sink's bytes to w, a block at a time, copied back
// into Go.
func (s *Sink) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if err := s.local(context.Background()); err != nil {
		return 0, err
	}
	buf := make([]byte, sinkBlock)
	for i, blk := range s.blocks {
		size := sinkBlock
		if i == len(s.blocks)-1 {
			size = s.used
		}
		if _, err := safejs.CopyBytesToGo(buf[:size], blk); err != nil {
			return n, wrapErr(err)
		}
		k, err := w.Write(buf[:size])
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Len returns how many bytes the sink holds.
func (s *Sink) Len() int { return s.n }

// Reset empties the sink.
func (s *Sink) Reset() {
	if s.remote != nil {
		s.remote.drop()
	}
	s.blocks, s.used, s.n, s.remote = nil, 0, 0, nil
}

// bytes returns the sink's bytes as one Uint8Array (copied in JavaScript).
func (s *Sink) bytes() (safejs.Value, error) {
	ctor, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return safejs.Undefined(), err
	}
	if len(s.blocks) == 0 {
		return ctor.New(0)
	}
	if len(s.blocks) == 1 {
		return Call(s.blocks[0], "subarray", 0, s.used)
	}
	all, err := ctor.New(s.n)
	if err != nil {
		return safejs.Undefined(), wrapErr(err)
	}
	for i, blk := range s.blocks {
		if i == len(s.blocks)-1 {
			if blk, err = Call(blk, "subarray", 0, s.used); err != nil {
				return safejs.Undefined(), err
			}
		}
		if _, err := Call(all, "set", blk, i*sinkBlock); err != nil {
			return safejs.Undefined(), err
		}
	}
	return all, nil
}

// DigestSink returns the WebCrypto digest (see Digest) of the bytes in s:
// in the hash worker when it is running (waiting up to a few seconds for
// it to start), else on the page. The sink is empty afterwards when the
// digest is made; on an error it still holds its bytes.
func DigestSink(ctx context.Context, alg string, s *Sink) ([]byte, error) {
	if s.remote == nil && s.n >= workerMin {
		if w := awaitHashWorker(ctx); w != nil {
			s.remote = w.newInput(s)
		}
	}
	if s.remote != nil {
		sum, err := s.digestRemote(ctx, alg)
		if err == nil {
			return sum, nil
		}
		// The worker gave the input back (or lost it: local fails).
		if lerr := s.local(ctx); lerr != nil {
			return nil, usererr.Errorf("", "%w (and then %v)", err, lerr)
		}
	}
	sc, err := subtleCrypto()
	if err != nil {
		return nil, err
	}
	in, err := s.bytes()
	if err != nil {
		return nil, err
	}
	p, err := Call(sc, "digest", alg, in)
	if err != nil {
		return nil, err
	}
	v, err := Await(ctx, p)
	if err != nil {
		return nil, err
	}
	return BytesFromJS(v)
}

// flushRemote sends the blocks still here to the worker.
func (s *Sink) flushRemote() error {
	if len(s.blocks) == 0 {
		return nil
	}
	last, err := Call(s.blocks[len(s.blocks)-1], "slice", 0, s.used)
	if err != nil {
		return err
	}
	if err := s.remote.add(append(s.blocks[:len(s.blocks)-1:len(s.blocks)-1], last)); err != nil {
		return err
	}
	s.blocks, s.used = nil, 0
	return nil
}

// workerMin is the least input DigestSink sends to the hash worker: below
// it, the page digests faster than a message goes there and back.
const workerMin = 4 << 20

// digestRemote sends the blocks still here to the worker and has it digest
// them all.
func (s *Sink) digestRemote(ctx context.Context, alg string) ([]byte, error) {
	if err := s.flushRemote(); err != nil {
		return nil, err
	}
	sum, parts, err := s.remote.digest(ctx, alg)
	if err != nil {
		if parts != nil {
			s.remote, s.blocks = nil, parts
			s.used = s.n - (len(parts)-1)*sinkBlock
		}
		return nil, err
	}
	s.remote, s.n = nil, 0
	return sum, nil
}
