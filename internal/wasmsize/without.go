package wasmsize

import (
	"errors"
	"fmt"
)

// How much of what a browser downloads a package costs is not its share of
// the raw module: code compresses differently from data, and brotli finds
// matches across packages. WithoutCode gives an estimate to compress: the
// module as if those functions' code were gone (each body becomes the
// three bytes of `unreachable`), without the name section, as the console
// ships. The difference of the two brotli sizes is what the code costs; the
// packages' data (types, strings, tables) and the code a replacement would
// add are not counted, and moving every later function's index changes how
// well the rest compresses by a few KB either way.

// ErrNoNames is returned by WithoutCode for a module without a name
// section: it cannot tell which function is which package's.
var ErrNoNames = errors.New("wasmsize: module has no name section (link without -ldflags=-s)")

// WithoutCode returns the module with the bodies of the functions drop
// chooses (by their name section names) replaced by `unreachable`, and its
// name section left out, and how many bytes the replaced bodies held.
func WithoutCode(b []byte, drop func(name string) bool) ([]byte, int, error) {
	m, err := Parse(b)
	if err != nil {
		return nil, 0, err
	}
	if !m.Named {
		return nil, 0, ErrNoNames
	}
	out := make([]byte, 0, len(b))
	out = append(out, b[:8]...)
	removed := 0
	r := &reader{b: b, off: 8}
	for !r.eof() {
		start := r.off
		id, _ := r.byte()
		size, _ := r.u32()
		body, _ := r.bytes(size)
		switch id {
		case secCustom:
			if name, _ := (&reader{b: body}).name(); name == "name" {
				continue
			}
		case secCode:
			sr := &reader{b: body}
			n, _ := sr.count(1)
			if n != len(m.Funcs) {
				return nil, 0, fmt.Errorf("%w: %d function bodies, %d functions", ErrMalformed, n, len(m.Funcs))
			}
			code := appendU32(nil, uint32(n))
			for i := range n {
				fs := sr.off
				size, _ := sr.u32()
				sr.bytes(size)
				if drop(m.Funcs[i].Name) {
					code = append(code, 3, 0, 0x00, 0x0b) // no locals, unreachable, end
					removed += sr.off - fs
					continue
				}
				code = append(code, body[fs:sr.off]...)
			}
			out = append(out, secCode)
			out = appendU32(out, uint32(len(code)))
			out = append(out, code...)
			continue
		}
		out = append(out, b[start:r.off]...)
	}
	return out, removed, nil
}
