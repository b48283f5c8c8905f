package esprom

import "sync"

// The eFuse controller of the ESP32-C3 protects blocks 1 to 10 with a
// Reed-Solomon RS(44,32) code over GF(2^8): 32 data bytes (the block's
// words, little-endian) and 12 check bytes the programmer writes to
// EFUSE_PGM_CHECK_VALUE0..2. The field uses the primitive polynomial
// x^8+x^4+x^3+x^2+1 (0x11d); the generator has the roots α^0 .. α^11.

// The field's tables and the RS(44,32) generator are built on first use,
// not when the console starts.
var gf = sync.OnceValue(newGaloisField)

// galoisField holds GF(2^8)'s exponent and logarithm tables and the
// generator polynomial of the eFuse code.
type galoisField struct {
	exp   [512]byte
	log   [256]byte
	gen12 []byte // degree 12, highest coefficient first
}

func newGaloisField() *galoisField {
	f := new(galoisField)
	x := 1
	for i := 0; i < 255; i++ {
		f.exp[i] = byte(x)
		f.log[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11d
		}
	}
	for i := 255; i < 512; i++ {
		f.exp[i] = f.exp[i-255]
	}
	f.gen12 = f.generator(12)
	return f
}

func (f *galoisField) mul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return f.exp[int(f.log[a])+int(f.log[b])]
}

// generator returns the generator polynomial of degree n, highest
// coefficient first.
func (f *galoisField) generator(n int) []byte {
	g := []byte{1}
	for i := 0; i < n; i++ {
		next := make([]byte, len(g)+1)
		for j, c := range g {
			next[j] ^= c
			next[j+1] ^= f.mul(c, f.exp[i])
		}
		g = next
	}
	return g
}

// RSCheck returns the 12 check bytes of 32 eFuse block bytes.
func RSCheck(data []byte) [12]byte {
	gf := gf()
	var rem [12]byte
	for _, d := range data {
		f := d ^ rem[0]
		copy(rem[:], rem[1:])
		rem[11] = 0
		if f != 0 {
			for j := 0; j < 12; j++ {
				rem[j] ^= gf.mul(f, gf.gen12[j+1])
			}
		}
	}
	return rem
}
