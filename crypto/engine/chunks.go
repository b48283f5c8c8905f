package engine

import (
	"context"

	"trustforge/internal/usererr"

	"golang.org/x/crypto/chacha20poly1305"
)

// ChunkSize is the plaintext size of one chunk of age's payload STREAM
// (age-encryption.org/v1): each chunk is sealed on its own with
// ChaCha20-Poly1305, so the ciphertext of a full chunk is ChunkSize+16
// bytes.
const ChunkSize = 64 << 10

// ChunkSealer is implemented by an Engine that can seal age's payload
// chunks itself (the browser's, in a Web Worker: age's ChaCha20-Poly1305
// is not in WebCrypto, and in WebAssembly Go runs it on the page's
// thread). crypto/bundle uses it when the engine has it, and age's own
// writer otherwise; both give the same bytes (SealChunks does).
type ChunkSealer interface {
	// StartSealChunks starts sealing plaintext as SealChunks does. The
	// engine has taken its own copy of key and plaintext when it returns
	// (the caller may reuse them); wait appends the ciphertext to dst and
	// returns the result.
	StartSealChunks(key []byte, counter uint64, plaintext []byte, last bool) (wait func(dst []byte) ([]byte, error))
}

// SealChunks seals plaintext as consecutive chunks of age's STREAM with
// the 32-byte payload key: chunk i (ChunkSize bytes, the final one
// possibly shorter) is sealed with ChaCha20-Poly1305 under the nonce made
// of counter+i as an 11-byte big-endian number and a last byte that is 1
// for the stream's final chunk (the final chunk of plaintext when last is
// set) and 0 otherwise. Only the final chunk of a stream may be short or
// empty: plaintext must be a whole number of chunks unless last is set,
// and empty only when it is the whole stream's (counter 0, last).
//
// It appends the ciphertexts to dst and returns the result. It is the
// reference for every ChunkSealer.
func SealChunks(dst, key []byte, counter uint64, plaintext []byte, last bool) ([]byte, error) {
	if err := CheckChunks(key, counter, len(plaintext), last); err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	var nonce [chacha20poly1305.NonceSize]byte
	for {
		n := min(len(plaintext), ChunkSize)
		final := last && n == len(plaintext)
		ChunkNonce(&nonce, counter, final)
		dst = aead.Seal(dst, nonce[:], plaintext[:n], nil)
		plaintext = plaintext[n:]
		counter++
		if len(plaintext) == 0 {
			return dst, nil
		}
	}
}

// ChunkNonce sets nonce to chunk counter's nonce.
func ChunkNonce(nonce *[chacha20poly1305.NonceSize]byte, counter uint64, last bool) {
	*nonce = [chacha20poly1305.NonceSize]byte{}
	for i := 10; i >= 3; i-- {
		nonce[i] = byte(counter)
		counter >>= 8
	}
	if last {
		nonce[11] = 1
	}
}

// SealedSize is the ciphertext size of n bytes of plaintext sealed by
// SealChunks in one call.
func SealedSize(n int, last bool) int {
	chunks := (n + ChunkSize - 1) / ChunkSize
	if chunks == 0 {
		chunks = 1 // the empty final chunk
	}
	return n + chunks*chacha20poly1305.Overhead
}

// MaxChunkCounter bounds the chunk counters SealChunks takes: 2^53, what
// every implementation (JavaScript's numbers among them) counts exactly.
// A stream that long would be 2^69 bytes.
const MaxChunkCounter = 1 << 53

// CheckChunks checks SealChunks' arguments.
func CheckChunks(key []byte, counter uint64, n int, last bool) error {
	switch {
	case len(key) != chacha20poly1305.KeySize:
		return usererr.Errorf("engine", "a payload key of %d bytes, want %d", len(key), chacha20poly1305.KeySize)
	case !last && (n == 0 || n%ChunkSize != 0):
		return usererr.Errorf("engine", "%d bytes of plaintext are not whole chunks, and not the stream's end", n)
	case n == 0 && counter != 0:
		return usererr.New("engine", "an empty chunk after others")
	case counter+uint64((n+ChunkSize-1)/ChunkSize) > MaxChunkCounter:
		return usererr.New("engine", "chunk counter out of range")
	}
	return nil
}

// PayloadKeeper is implemented by an Engine that can keep a bundle's
// payload where it seals it (the browser's, in its Web Worker), so that
// the ciphertext is hashed and uploaded from there without passing
// through Go's memory. crypto/bundle's CreateKept builds a payload in one.
type PayloadKeeper interface {
	// KeepPayload starts an empty payload of about size bytes; nil when
	// the engine cannot keep one now (no worker).
	KeepPayload(ctx context.Context, size int64) KeptPayload
}

// KeptPayload is a payload an engine keeps: bytes written into it, then
// chunks it seals into it, in order.
type KeptPayload interface {
	// Write appends p (copied) to the payload.
	Write(p []byte) (int, error)
	// StartSealChunks seals plaintext as SealChunks does and appends the
	// ciphertext, in the order of the calls; key and plaintext are copied
	// before it returns. A failed batch fails the payload: every later
	// call fails too.
	StartSealChunks(key []byte, counter uint64, plaintext []byte, last bool) (wait func() error)
	// Sum returns the payload's SHA-256; the payload is kept.
	Sum(ctx context.Context) ([]byte, error)
	// Len returns the payload's length.
	Len() int64
	// Release frees the payload; it cannot be used afterwards.
	Release()
}
