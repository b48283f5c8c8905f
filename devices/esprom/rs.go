package esprom

// The eFuse controller of the ESP32-C3 protects blocks 1 to 10 with a
// Reed-Solomon RS(44,32) code over GF(2^8): 32 data bytes (the block's
// words, little-endian) and 12 check bytes the programmer writes to
// EFUSE_PGM_CHECK_VALUE0..2. The field uses the primitive polynomial
// x^8+x^4+x^3+x^2+1 (0x11d); the generator has the roots α^0 .. α^11.

var gfExp, gfLog = gfTables()

func gfTables() (exp [512]byte, log [256]byte) {
	x := 1
	for i := 0; i < 255; i++ {
		exp[i] = byte(x)
		log[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11d
		}
	}
	for i := 255; i < 512; i++ {
		exp[i] = exp[i-255]
	}
	return exp, log
}

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

// rsGenerator returns the generator polynomial of degree n, highest
// coefficient first.
func rsGenerator(n int) []byte {
	g := []byte{1}
	for i := 0; i < n; i++ {
		next := make([]byte, len(g)+1)
		for j, c := range g {
			next[j] ^= c
			next[j+1] ^= gfMul(c, gfExp[i])
		}
		g = next
	}
	return g
}

var rsGen12 = rsGenerator(12)

// RSCheck returns the 12 check bytes of 32 eFuse block bytes.
func RSCheck(data []byte) [12]byte {
	var rem [12]byte
	for _, d := range data {
		f := d ^ rem[0]
		copy(rem[:], rem[1:])
		rem[11] = 0
		if f != 0 {
			for j := 0; j < 12; j++ {
				rem[j] ^= gfMul(f, rsGen12[j+1])
			}
		}
	}
	return rem
}
