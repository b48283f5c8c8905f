//go:build js && wasm

package webcrypto

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"hash"

	"trustforge/crypto/engine"
	"trustforge/internal/browser"
)

// Below these sizes the Go code is quicker than a round trip through a
// promise.
const (
	minDigest = 16 << 10
	minCTR    = 4 << 10
)

// New returns WebCrypto's engine, or engine.Go where the page has none.
func New() engine.Engine {
	if !browser.HasSubtle() {
		return engine.Go
	}
	return subtle{}
}

type subtle struct{}

func (subtle) NewSHA256() hash.Hash { return &digest{} }

// digest keeps what is written and has WebCrypto hash it at Sum:
// WebCrypto's digest is one-shot. It keeps the input in blocks of a fixed
// size, so a large input is never copied again as it grows (each such copy
// of a whole image would stall the page).
type digest struct {
	blocks [][]byte
	n      int
}

const blockSize = 1 << 20

func (d *digest) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(d.blocks) == 0 || len(d.blocks[len(d.blocks)-1]) == blockSize {
			d.blocks = append(d.blocks, make([]byte, 0, blockSize))
		}
		last := &d.blocks[len(d.blocks)-1]
		k := min(len(p), blockSize-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	d.n += n
	return n, nil
}

func (d *digest) Sum(b []byte) []byte {
	if d.n >= minDigest {
		if sum, err := browser.Digest(context.Background(), "SHA-256", d.blocks...); err == nil && len(sum) == sha256.Size {
			return append(b, sum...)
		}
	}
	h := sha256.New()
	for _, blk := range d.blocks {
		h.Write(blk)
	}
	return h.Sum(b)
}

func (d *digest) Reset()         { d.blocks, d.n = nil, 0 }
func (d *digest) Size() int      { return sha256.Size }
func (d *digest) BlockSize() int { return sha256.BlockSize }

func (subtle) NewCTR(key, iv []byte) (cipher.Stream, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize {
		// cipher.NewCTR panics here too: a programming error.
		panic("webcrypto: NewCTR: IV length must equal block size")
	}
	s := &ctr{block: block}
	copy(s.iv[:], iv)
	// Without WebCrypto's key, every call takes the Go path.
	s.key, _ = browser.ImportAESCTR(context.Background(), key)
	return s, nil
}

// ctr is AES-CTR that hands large calls to WebCrypto and does the rest, and
// the partial block between calls, in Go.
type ctr struct {
	block cipher.Block
	key   *browser.AESKey // nil: Go only
	iv    [aes.BlockSize]byte
	pos   uint64 // bytes of keystream used
}

// counter returns the counter block of block number n: iv + n, as one
// 128-bit big-endian number (mod 2^128).
func (s *ctr) counter(n uint64) []byte {
	c := s.iv
	carry := n
	for i := aes.BlockSize - 1; i >= 0 && carry != 0; i-- {
		sum := uint64(c[i]) + carry&0xff
		c[i] = byte(sum)
		carry = carry>>8 + sum>>8
	}
	return c[:]
}

func (s *ctr) XORKeyStream(dst, src []byte) {
	if len(dst) < len(src) {
		panic("crypto/cipher: output smaller than input")
	}
	// The rest of a block a previous call began.
	if off := s.pos % aes.BlockSize; off != 0 && len(src) > 0 {
		var ks [aes.BlockSize]byte
		s.block.Encrypt(ks[:], s.counter(s.pos/aes.BlockSize))
		n := min(len(src), aes.BlockSize-int(off))
		for i := range n {
			dst[i] = src[i] ^ ks[int(off)+i]
		}
		dst, src = dst[n:], src[n:]
		s.pos += uint64(n)
	}
	if len(src) == 0 {
		return
	}
	if s.key != nil && len(src) >= minCTR {
		out, err := s.key.CTR(context.Background(), s.counter(s.pos/aes.BlockSize), src)
		if err == nil && len(out) == len(src) {
			copy(dst, out)
			s.pos += uint64(len(src))
			return
		}
		s.key = nil // WebCrypto failed once: Go from here on
	}
	cipher.NewCTR(s.block, s.counter(s.pos/aes.BlockSize)).XORKeyStream(dst[:len(src)], src)
	s.pos += uint64(len(src))
}
