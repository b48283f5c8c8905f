// Package engine names the bulk primitives trustforge's image and release
// code runs over whole firmware images, SHA-256 and AES-CTR, so that the
// browser can hand them to WebCrypto (the CPU's SHA and AES instructions)
// while native builds keep the Go standard library.
//
// Every Engine must produce the same bytes as Go: an image or a bundle made
// with one engine is byte for byte the one Go makes from the same inputs
// and randomness. Nothing secret-dependent branches differently between
// engines; an engine only changes where the arithmetic runs.
package engine

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"hash"
)

// Engine computes SHA-256 and AES-CTR.
type Engine interface {
	// NewSHA256 returns a SHA-256 hash. An engine whose digest is one-shot
	// (WebCrypto's) keeps what is written and digests it at Sum, so it
	// costs memory as large as its input.
	NewSHA256() hash.Hash
	// NewCTR returns AES in counter mode with key (16, 24 or 32 bytes) and
	// the 16-byte initial counter block iv, incremented as a 128-bit
	// big-endian number as cipher.NewCTR does.
	NewCTR(key, iv []byte) (cipher.Stream, error)
}

// Go is the Go standard library's engine.
var Go Engine = goEngine{}

// Or returns e, or Go when e is nil.
func Or(e Engine) Engine {
	if e == nil {
		return Go
	}
	return e
}

type goEngine struct{}

func (goEngine) NewSHA256() hash.Hash { return sha256.New() }

func (goEngine) NewCTR(key, iv []byte) (cipher.Stream, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewCTR(block, iv), nil
}

// Expecter is implemented by a hash that holds what is written until Sum
// (an engine whose digest is one-shot): told how many bytes are coming, it
// makes room for them once instead of growing as they arrive.
type Expecter interface {
	Expect(n int64)
}

// Expect tells h that about n bytes are about to be written to it, when h
// is an Expecter; a wrong n costs only time.
func Expect(h hash.Hash, n int64) {
	if e, ok := h.(Expecter); ok {
		e.Expect(n)
	}
}

// HashXORer is implemented by an Engine that can hash a piece of plaintext
// and encrypt it in one pass (the browser's, where both happen in a Web
// Worker and the bytes leave the page once). mcuimg uses it, through
// HashXORKeyStream, for an encrypted payload.
type HashXORer interface {
	// HashXORKeyStream does what h.Write(src) and then
	// s.XORKeyStream(dst, src) do, for h and s made by the same engine
	// (and with the same bytes out as those two calls).
	HashXORKeyStream(h hash.Hash, s cipher.Stream, dst, src []byte)
}

// HashXORKeyStream writes src to h and XORs it with s's keystream into
// dst, in one pass where e is a HashXORer.
func HashXORKeyStream(e Engine, h hash.Hash, s cipher.Stream, dst, src []byte) {
	if x, ok := e.(HashXORer); ok {
		x.HashXORKeyStream(h, s, dst, src)
		return
	}
	h.Write(src)
	s.XORKeyStream(dst, src)
}
