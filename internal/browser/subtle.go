//go:build js && wasm

package browser

import (
	"context"
	"errors"
	"fmt"

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

// CTR encrypts (or decrypts: it is the same) data with AES-CTR from the
// 16-byte counter block, incremented as one 128-bit big-endian number.
// It waits for a promise.
func (k *AESKey) CTR(ctx context.Context, counter, data []byte) ([]byte, error) {
	if len(counter) != 16 {
		return nil, fmt.Errorf("browser: AES-CTR counter of %d bytes, want 16", len(counter))
	}
	s, err := subtleCrypto()
	if err != nil {
		return nil, err
	}
	ctr, err := BytesToJS(counter)
	if err != nil {
		return nil, err
	}
	in, err := BytesToJS(data)
	if err != nil {
		return nil, err
	}
	p, err := Call(s, "encrypt", map[string]any{"name": "AES-CTR", "counter": ctr, "length": 128}, k.key, in)
	if err != nil {
		return nil, err
	}
	v, err := Await(ctx, p)
	if err != nil {
		return nil, err
	}
	return BytesFromJS(v)
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
