//go:build js && wasm

package browser

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hack-pad/safejs"
)

// ErrNoSubtle means the page has no WebCrypto (crypto.subtle exists only in
// secure contexts: https or localhost).
var ErrNoSubtle = errors.New("browser: no WebCrypto (crypto.subtle) in this page")

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
		return nil, fmt.Errorf("browser: importing an AES-CTR key: %w", err)
	}
	return &AESKey{key: k}, nil
}

// CTR encrypts (or decrypts: it is the same) src with AES-CTR from the
// 16-byte counter block, incremented as one 128-bit big-endian number, and
// writes the result to dst, which must be as long as src (it may be src).
// It waits for a promise.
func (k *AESKey) CTR(ctx context.Context, counter, dst, src []byte) error {
	if len(dst) < len(src) {
		return fmt.Errorf("browser: AES-CTR output of %d bytes for %d", len(dst), len(src))
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
		return fmt.Errorf("browser: AES-CTR gave %d bytes for %d", n, len(src))
	}
	if _, err := safejs.CopyBytesToGo(dst[:len(src)], u8); err != nil {
		return wrapErr(err)
	}
	return nil
}

func (k *AESKey) ctr(ctx context.Context, counter, data []byte) (safejs.Value, error) {
	if len(counter) != 16 {
		return safejs.Undefined(), fmt.Errorf("browser: AES-CTR counter of %d bytes, want 16", len(counter))
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
// hold the stream. The zero value is empty and ready.
type Sink struct {
	blocks []safejs.Value
	used   int // bytes in the last block
	n      int
}

// sinkBlock is the size of a Sink's blocks.
const sinkBlock = 1 << 20

// Write copies p into the sink.
func (s *Sink) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(s.blocks) == 0 || s.used == sinkBlock {
			ctor, err := safejs.Global().Get("Uint8Array")
			if err != nil {
				return n - len(p), err
			}
			blk, err := ctor.New(sinkBlock)
			if err != nil {
				return n - len(p), wrapErr(err)
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

// WriteTo writes the sink's bytes to w, a block at a time, copied back
// into Go.
func (s *Sink) WriteTo(w io.Writer) (int64, error) {
	var n int64
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
func (s *Sink) Reset() { s.blocks, s.used, s.n = nil, 0, 0 }

// bytes returns the sink's bytes as one Uint8Array (copied in JavaScript).
func (s *Sink) bytes() (safejs.Value, error) {
	ctor, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return safejs.Undefined(), err
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

// DigestSink returns the WebCrypto digest (see Digest) of the bytes in s.
func DigestSink(ctx context.Context, alg string, s *Sink) ([]byte, error) {
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
