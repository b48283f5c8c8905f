//go:build js && wasm

package webcrypto

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"hash"

	"trustforge/crypto/engine"
	"trustforge/internal/browser"
)

// Below these sizes the Go code is quicker than a round trip through a
// promise; from minWorkerCTR on, AES-CTR runs in the console's workers, in
// parts of at most ctrPart all sent before the first answer is awaited,
// off the page's thread (Chromium runs WebCrypto's AES on the calling
// thread). Parts of 256 KiB halved a 16 MiB encryption against 1 MiB ones
// in Chromium (35–44 against 77–95 ms): the buffers each part needs
// (the page's copy, WebCrypto's own copy and its result) are then small
// enough for the browser's allocator to reuse, where each 1 MiB buffer was
// fresh memory the system had to map in, and the worker encrypts one part
// while the next is on its way.
const (
	minDigest    = 16 << 10
	minCTR       = 4 << 10
	minWorkerCTR = 256 << 10
	ctrPart      = 256 << 10
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
// WebCrypto's digest is one-shot. Small inputs stay in Go and are hashed by
// Go; past minDigest they move to JavaScript memory (browser.Sink), where
// each write is one native copy and the Go heap never holds the stream.
// Should JavaScript fail it (no memory left), Go takes over the hash with
// the bytes read back from the sink.
type digest struct {
	small []byte
	sink  *browser.Sink
	h     hash.Hash // Go's hash, once it has taken over
	// expect is how many bytes are coming (Expect), for the sink.
	expect int64
}

// Expect passes on how long the input will be to the sink that will hold
// it (see engine.Expecter).
func (d *digest) Expect(n int64) { d.expect = n }

func (d *digest) Write(p []byte) (int, error) {
	switch {
	case d.h != nil:
		d.h.Write(p)
	case d.sink != nil:
		d.toSink(p)
	case len(d.small)+len(p) < minDigest:
		d.small = append(d.small, p...)
	default:
		d.sink = &browser.Sink{}
		d.sink.Expect(d.expect)
		d.toSink(d.small)
		d.small = nil
		d.toSink(p)
	}
	return len(p), nil
}

// toSink writes p to the sink, or to Go's hash once it has taken over.
func (d *digest) toSink(p []byte) {
	if d.h == nil {
		n, err := d.sink.Write(p)
		if err == nil {
			return
		}
		d.goTakesOver()
		p = p[n:]
	}
	d.h.Write(p)
}

// goTakesOver moves the hash to Go, reading the sink's bytes back into it.
func (d *digest) goTakesOver() {
	h := sha256.New()
	if _, err := d.sink.WriteTo(h); err != nil {
		// The page can no longer give back bytes it holds: nothing can
		// hash them, and a wrong hash must never come out.
		panic("webcrypto: the browser lost a digest's input: " + err.Error())
	}
	d.h, d.sink = h, nil
}

func (d *digest) Sum(b []byte) []byte {
	if d.h == nil && d.sink != nil {
		sum, err := browser.DigestSink(context.Background(), "SHA-256", d.sink)
		if err == nil && len(sum) == sha256.Size {
			return append(b, sum...)
		}
		d.goTakesOver()
	}
	if d.h != nil {
		return d.h.Sum(b)
	}
	sum := sha256.Sum256(d.small)
	return append(b, sum[:]...)
}

func (d *digest) Reset()         { *d = digest{} }
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
	s := &ctr{block: block, raw: bytes.Clone(key)}
	copy(s.iv[:], iv)
	// Without WebCrypto's key, every call takes the Go path.
	s.key, _ = browser.ImportAESCTR(context.Background(), key)
	return s, nil
}

// ctr is AES-CTR that hands large calls to WebCrypto and does the rest, and
// the partial block between calls, in Go.
type ctr struct {
	block cipher.Block
	raw   []byte          // the key, for the workers
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
	if s.key != nil && len(src) >= minWorkerCTR && s.inWorkers(dst, src) {
		s.pos += uint64(len(src))
		return
	}
	if s.key != nil && len(src) >= minCTR {
		// dst is written only once WebCrypto has answered in full.
		if err := s.key.CTR(context.Background(), s.counter(s.pos/aes.BlockSize), dst[:len(src)], src); err == nil {
			s.pos += uint64(len(src))
			return
		}
		s.key = nil // WebCrypto failed once: Go from here on
	}
	cipher.NewCTR(s.block, s.counter(s.pos/aes.BlockSize)).XORKeyStream(dst[:len(src)], src)
	s.pos += uint64(len(src))
}

// HashXORKeyStream hashes and encrypts a piece of an image's payload
// (engine.HashXORer): from minWorkerCTR on, with the digest's input in the
// hash worker, each part of at most ctrPart goes there for the digest and
// to a second worker to be encrypted meanwhile (browser.StartCTRBeside),
// or, until that worker has started, to the hash worker once for both,
// all parts sent before the first answer is awaited. Otherwise, and for
// what the workers could not take, the digest's Write and the stream's
// XORKeyStream do it.
func (subtle) HashXORKeyStream(h hash.Hash, s cipher.Stream, dst, src []byte) {
	d, _ := h.(*digest)
	c, _ := s.(*ctr)
	n := 0
	if d != nil && c != nil {
		n = c.hashInWorker(d, dst, src)
	}
	if n < len(src) {
		h.Write(src[n:])
		s.XORKeyStream(dst[n:len(src)], src[n:])
	}
}

// hashInWorker has the hash worker take src for d and encrypt it to dst,
// from the current position, and returns how many bytes it took (from the
// start of src): none when the stream is not at a whole block, src is
// short, WebCrypto failed before or the worker cannot take d's input.
func (s *ctr) hashInWorker(d *digest, dst, src []byte) int {
	if s.key == nil || s.pos%aes.BlockSize != 0 || len(src) < minWorkerCTR || d.h != nil {
		return 0
	}
	if d.sink == nil {
		d.sink = &browser.Sink{}
		d.sink.Expect(d.expect)
		if d.sink.ToWorker() != nil {
			d.sink = nil
			return 0
		}
		d.toSink(d.small)
		d.small = nil
		if d.h != nil {
			return 0
		}
	}
	type job struct {
		off, end int
		wait     func([]byte) error
	}
	var jobs []job
	off := 0
	beside := browser.CanEncryptBeside()
	for ; off < len(src); off += ctrPart {
		end := min(off+ctrPart, len(src))
		part, counter := src[off:end], s.counter(s.pos/aes.BlockSize+uint64(off/aes.BlockSize))
		var wait func([]byte) error
		if beside {
			// The digest takes the part as a plain write (one message, so
			// all of it or none), another worker encrypts it.
			if _, err := d.sink.Write(part); err != nil {
				break
			}
			wait = browser.StartCTRBeside(s.raw, counter, part)
		} else {
			var err error
			if wait, err = d.sink.StartWriteCTR(s.raw, counter, part); err != nil {
				break
			}
		}
		jobs = append(jobs, job{off, end, wait})
	}
	for _, j := range jobs {
		if err := j.wait(dst[j.off:j.end]); err != nil {
			// The worker has the part for the digest, but no ciphertext.
			cipher.NewCTR(s.block, s.counter(s.pos/aes.BlockSize+uint64(j.off/aes.BlockSize))).XORKeyStream(dst[j.off:j.end], src[j.off:j.end])
		}
	}
	off = min(off, len(src))
	s.pos += uint64(off)
	return off
}

// minSeal is the least plaintext sent to the worker to seal: below it, Go
// seals quicker than a message goes there and back.
const minSeal = 16 << 10

// StartSealChunks has the console's worker seal age's payload chunks
// (engine.ChunkSealer): ChaCha20-Poly1305 is not in WebCrypto, and Go
// would run it on the page's thread. Small inputs are sealed in Go here.
func (subtle) StartSealChunks(key []byte, counter uint64, plaintext []byte, last bool) func([]byte) ([]byte, error) {
	if len(plaintext) < minSeal {
		out, err := engine.SealChunks(nil, key, counter, plaintext, last)
		return func(dst []byte) ([]byte, error) { return append(dst, out...), err }
	}
	if err := engine.CheckChunks(key, counter, len(plaintext), last); err != nil {
		return func([]byte) ([]byte, error) { return nil, err }
	}
	return browser.StartSealChunks(key, counter, plaintext, last)
}

// inWorkers encrypts src to dst, from the current position (a whole
// block), in the console's workers: parts of at most ctrPart, given to
// the workers in turn, all sent before any answer is awaited. A part a
// worker fails is encrypted here. It reports false, with dst
// untouched, when there is no worker.
func (s *ctr) inWorkers(dst, src []byte) bool {
	n := browser.Workers()
	if n == 0 {
		return false
	}
	part := min(ctrPart, (len(src)/n+aes.BlockSize-1)&^(aes.BlockSize-1))
	type job struct {
		off, end int
		wait     func([]byte) error
	}
	var jobs []job
	for off := 0; off < len(src); off += part {
		end := min(off+part, len(src))
		ctr := s.counter(s.pos/aes.BlockSize + uint64(off/aes.BlockSize))
		jobs = append(jobs, job{off, end, browser.StartCTR(s.raw, ctr, src[off:end])})
	}
	for _, j := range jobs {
		if err := j.wait(dst[j.off:j.end]); err != nil {
			cipher.NewCTR(s.block, s.counter(s.pos/aes.BlockSize+uint64(j.off/aes.BlockSize))).XORKeyStream(dst[j.off:j.end], src[j.off:j.end])
		}
	}
	return true
}

// KeepPayload starts a bundle's payload kept in the console's worker
// (engine.PayloadKeeper; see browser.KeptPayload); nil when the worker
// has not started within a few seconds.
func (subtle) KeepPayload(ctx context.Context, size int64) engine.KeptPayload {
	if p := browser.KeepPayload(ctx, size); p != nil {
		return p
	}
	return nil
}
