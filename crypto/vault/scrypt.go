package vault

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"time"

	"trustforge/internal/usererr"
)

// This file is scrypt (RFC 7914), written from the RFC so that its long
// loop can stop now and then and let a single-threaded caller run: in the
// browser, WebAssembly shares the page's only thread, and an unlock that
// computes scrypt in one go freezes the page for seconds.

// yieldEvery is how much scrypt runs between two calls of its yield
// function: short enough for the page to answer input promptly.
const yieldEvery = 25 * time.Millisecond

// scryptKey derives keyLen bytes from password and salt with scrypt's
// cost N = 2^logN, block size r and parallelism p. When yield is not nil
// it is called about every yieldEvery; an error from it (or ctx's end)
// stops the derivation with that error.
func scryptKey(ctx context.Context, password, salt []byte, logN, r, p, keyLen int, yield func(context.Context) error) ([]byte, error) {
	if logN < 1 || logN > 30 || r < 1 || p < 1 || uint64(r)*uint64(p) >= 1<<30 || keyLen < 1 {
		return nil, usererr.New("vault", "bad scrypt parameters")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := pbkdf2.Key(sha256.New, string(password), salt, 1, p*128*r)
	if err != nil {
		return nil, err
	}
	t := &ticker{ctx: ctx, yield: yield, last: time.Now()}
	x := make([]uint32, 32*r)
	y := make([]uint32, 32*r)
	// V (128·r·N bytes: 256 MiB at the vault's cost) is allocated in
	// chunks as ROMix first fills it, so that zeroing it is spread between
	// yields too.
	v := make([][]uint32, (1<<logN+chunkBlocks-1)/chunkBlocks)
	for i := 0; i < p; i++ {
		if err := roMix(b[i*128*r:(i+1)*128*r], r, logN, x, y, v, t); err != nil {
			return nil, err
		}
	}
	return pbkdf2.Key(sha256.New, string(password), b, 1, keyLen)
}

// ticker calls yield when yieldEvery has passed since the last call.
type ticker struct {
	ctx   context.Context
	yield func(context.Context) error
	last  time.Time
}

func (t *ticker) tick() error {
	if err := t.ctx.Err(); err != nil {
		return err
	}
	if t.yield == nil || time.Since(t.last) < yieldEvery {
		return nil
	}
	err := t.yield(t.ctx)
	t.last = time.Now()
	return err
}

// chunkBlocks is how many of V's blocks one allocation holds.
const chunkBlocks = 1024

// roMix is scrypt's ROMix on the 128r bytes of b, in place; x and y are
// its working memory (32r words each), v holds V's chunks (allocated here
// the first time).
func roMix(b []byte, r, logN int, x, y []uint32, v [][]uint32, t *ticker) error {
	n := 1 << logN
	words := 32 * r
	for i := range x {
		x[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	block := func(j int) []uint32 {
		c := v[j/chunkBlocks]
		k := (j % chunkBlocks) * words
		return c[k : k+words]
	}
	const check = 256 // iterations between looks at the clock
	for i := 0; i < n; i++ {
		if v[i/chunkBlocks] == nil {
			v[i/chunkBlocks] = make([]uint32, min(chunkBlocks, n-i)*words)
		}
		copy(block(i), x)
		blockMix(x, y, r)
		if i%check == check-1 {
			if err := t.tick(); err != nil {
				return err
			}
		}
	}
	for i := 0; i < n; i++ {
		// Integerify: the first word of the last 64-byte block, mod N
		// (N is at most 2^30, so the low word is enough).
		j := int(x[(2*r-1)*16]) & (n - 1)
		vj := block(j)
		for k := range x {
			x[k] ^= vj[k]
		}
		blockMix(x, y, r)
		if i%check == check-1 {
			if err := t.tick(); err != nil {
				return err
			}
		}
	}
	for i, w := range x {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return nil
}

// blockMix is scrypt's BlockMix of the 2r 64-byte blocks of b, in place,
// with y as scratch of the same size.
func blockMix(b, y []uint32, r int) {
	var s [16]uint32
	copy(s[:], b[(2*r-1)*16:])
	for i := 0; i < 2*r; i++ {
		for k := 0; k < 16; k++ {
			s[k] ^= b[i*16+k]
		}
		salsa208(&s)
		// Even blocks go to the first half, odd ones to the second.
		dst := (i/2 + (i%2)*r) * 16
		copy(y[dst:dst+16], s[:])
	}
	copy(b, y)
}

// salsa208 is the Salsa20/8 core on s, in place.
func salsa208(s *[16]uint32) {
	x := *s
	for round := 0; round < 8; round += 2 {
		// Columns.
		x[4] ^= bits.RotateLeft32(x[0]+x[12], 7)
		x[8] ^= bits.RotateLeft32(x[4]+x[0], 9)
		x[12] ^= bits.RotateLeft32(x[8]+x[4], 13)
		x[0] ^= bits.RotateLeft32(x[12]+x[8], 18)
		x[9] ^= bits.RotateLeft32(x[5]+x[1], 7)
		x[13] ^= bits.RotateLeft32(x[9]+x[5], 9)
		x[1] ^= bits.RotateLeft32(x[13]+x[9], 13)
		x[5] ^= bits.RotateLeft32(x[1]+x[13], 18)
		x[14] ^= bits.RotateLeft32(x[10]+x[6], 7)
		x[2] ^= bits.RotateLeft32(x[14]+x[10], 9)
		x[6] ^= bits.RotateLeft32(x[2]+x[14], 13)
		x[10] ^= bits.RotateLeft32(x[6]+x[2], 18)
		x[3] ^= bits.RotateLeft32(x[15]+x[11], 7)
		x[7] ^= bits.RotateLeft32(x[3]+x[15], 9)
		x[11] ^= bits.RotateLeft32(x[7]+x[3], 13)
		x[15] ^= bits.RotateLeft32(x[11]+x[7], 18)
		// Rows.
		x[1] ^= bits.RotateLeft32(x[0]+x[3], 7)
		x[2] ^= bits.RotateLeft32(x[1]+x[0], 9)
		x[3] ^= bits.RotateLeft32(x[2]+x[1], 13)
		x[0] ^= bits.RotateLeft32(x[3]+x[2], 18)
		x[6] ^= bits.RotateLeft32(x[5]+x[4], 7)
		x[7] ^= bits.RotateLeft32(x[6]+x[5], 9)
		x[4] ^= bits.RotateLeft32(x[7]+x[6], 13)
		x[5] ^= bits.RotateLeft32(x[4]+x[7], 18)
		x[11] ^= bits.RotateLeft32(x[10]+x[9], 7)
		x[8] ^= bits.RotateLeft32(x[11]+x[10], 9)
		x[9] ^= bits.RotateLeft32(x[8]+x[11], 13)
		x[10] ^= bits.RotateLeft32(x[9]+x[8], 18)
		x[12] ^= bits.RotateLeft32(x[15]+x[14], 7)
		x[13] ^= bits.RotateLeft32(x[12]+x[15], 9)
		x[14] ^= bits.RotateLeft32(x[13]+x[12], 13)
		x[15] ^= bits.RotateLeft32(x[14]+x[13], 18)
	}
	for i := range s {
		s[i] += x[i]
	}
}
