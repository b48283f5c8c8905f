package wasmsize

import (
	"errors"
	"fmt"
	"sort"
)

// Go's WebAssembly linker writes the data section as many small segments: it
// starts a new one after every run of 8 or more zero bytes, up to 100,000
// segments. Most of them hold runtime.findfunctab, whose 20-byte buckets are
// mostly zeros, and each segment costs a header (flags, offset expression,
// length) whose changing offset compresses badly. PackData rewrites the
// section with one segment per stretch of memory broken only by long zero
// runs: the memory the module starts with is byte for byte the same (fresh
// linear memory is zero), the raw module grows by the zeros it now spells
// out, and its brotli copy, which is what a browser downloads, shrinks.

// DefaultZeroRun is the shortest run of zero bytes PackData leaves out of a
// segment. On the console a run of 1,024 gave the smallest brotli copy of
// those measured (8, 64, 1,024, 65,536) while it carried its file and line
// tables; with them left out (StripLines) 65,536 did, as the zeros where
// the tables were compress to almost nothing inside a segment while each
// cut costs a segment header at an offset brotli cannot predict. With
// runtime.findfunctab written by a start function instead
// (GenerateFindFuncTab), 512 does: 2,468,854 B brotli and 16,024,241 B raw,
// against 2,469,672 and 16,055,163 for 4,096, 2,470,751 and 16,156,266 for
// 65,536, and 2,477,138 and 15,695,182 for 64.
const DefaultZeroRun = 512

// maxImage bounds the end of the memory a data section may initialise (Go's
// console needs under 16 MiB), so that forged offsets cannot make PackData
// fill gigabytes of gaps with zeros.
const maxImage = 1 << 30

// Errors returned by PackData for modules it cannot rewrite.
var (
	ErrNoData      = errors.New("wasmsize: module has no data section")
	ErrUnsupported = errors.New("wasmsize: data section not as Go's linker writes it")
)

// segment is one active data segment of memory 0.
type segment struct {
	offset uint32
	data   []byte
}

// PackData returns the module with its data section rewritten into segments
// separated only by runs of at least minZeros zero bytes (minZeros < 8 is
// taken as 8, the linker's own rule). Every other section is copied
// unchanged. It accepts the data sections Go's linker writes: active
// segments of memory 0 placed by an i32.const offset, not overlapping, and
// no data count section.
func PackData(b []byte, minZeros int) ([]byte, error) {
	if minZeros < 8 {
		minZeros = 8
	}
	if minZeros > 1<<20 {
		minZeros = 1 << 20
	}
	return rewriteData(b, func(segs []segment) ([]segment, error) {
		return resegment(segs, minZeros), nil
	})
}

// rewriteData returns the module with its data section's segments replaced
// by what edit makes of them (edit gets copies it may change in place);
// every other section is copied unchanged.
func rewriteData(b []byte, edit func([]segment) ([]segment, error)) ([]byte, error) {
	if _, err := Parse(b); err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(b)/4)
	out = append(out, b[:8]...)
	r := &reader{b: b, off: 8}
	found := false
	for !r.eof() {
		start := r.off
		id, _ := r.byte()
		size, _ := r.u32()
		body, _ := r.bytes(size)
		switch id {
		case 12: // data count: would have to follow the new segment count
			return nil, fmt.Errorf("%w: data count section", ErrUnsupported)
		case 11:
			if found {
				return nil, fmt.Errorf("%w: two data sections", ErrMalformed)
			}
			found = true
			segs, err := readSegments(body)
			if err != nil {
				return nil, err
			}
			for i := range segs {
				segs[i].data = append([]byte(nil), segs[i].data...)
			}
			if segs, err = edit(segs); err != nil {
				return nil, err
			}
			packed := writeSegments(segs)
			out = append(out, 11)
			out = appendU32(out, uint32(len(packed)))
			out = append(out, packed...)
		default:
			out = append(out, b[start:r.off]...)
		}
	}
	if !found {
		return nil, ErrNoData
	}
	return out, nil
}

// readSegments reads a data section's segments and checks that they are
// active, for memory 0, at constant offsets and apart, and sorts them by
// offset.
func readSegments(body []byte) ([]segment, error) {
	r := &reader{b: body}
	n, err := r.count(4)
	if err != nil {
		return nil, err
	}
	segs := make([]segment, 0, n)
	for i := range n {
		flags, err := r.u32()
		if err != nil {
			return nil, err
		}
		if flags != 0 {
			return nil, fmt.Errorf("%w: segment %d has flags %d (passive or explicit memory)", ErrUnsupported, i, flags)
		}
		op, err := r.byte()
		if err != nil {
			return nil, err
		}
		if op != 0x41 { // i32.const
			return nil, fmt.Errorf("%w: segment %d offset is not i32.const", ErrUnsupported, i)
		}
		off, err := r.s32()
		if err != nil {
			return nil, err
		}
		if op, err = r.byte(); err != nil {
			return nil, err
		}
		if op != 0x0b { // end
			return nil, fmt.Errorf("%w: segment %d offset is not a single constant", ErrUnsupported, i)
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		data, err := r.bytes(size)
		if err != nil {
			return nil, fmt.Errorf("%w: data segment %d", err, i)
		}
		if off < 0 || uint64(off)+uint64(len(data)) > maxImage {
			return nil, fmt.Errorf("%w: segment %d at %d (%d bytes) beyond %d", ErrUnsupported, i, off, len(data), maxImage)
		}
		segs = append(segs, segment{offset: uint32(off), data: data})
	}
	if !r.eof() {
		return nil, fmt.Errorf("%w: %d bytes after the last data segment", ErrMalformed, len(body)-r.off)
	}
	// The linker writes its data sections in its own order, not by address.
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].offset < segs[j].offset })
	var end uint64
	for _, s := range segs {
		if uint64(s.offset) < end {
			return nil, fmt.Errorf("%w: segments overlap at %d", ErrUnsupported, s.offset)
		}
		end = uint64(s.offset) + uint64(len(s.data))
	}
	return segs, nil
}

// resegment joins segments whose gap is shorter than minZeros zero bytes and
// cuts them again at runs of at least minZeros zero bytes, leaving zeros out
// at both ends.
func resegment(segs []segment, minZeros int) []segment {
	var joined []segment
	for _, s := range segs {
		if n := len(joined); n > 0 {
			cur := &joined[n-1]
			gap := int(s.offset - cur.offset - uint32(len(cur.data)))
			if gap < minZeros {
				cur.data = append(append(cur.data, make([]byte, gap)...), s.data...)
				continue
			}
		}
		joined = append(joined, segment{offset: s.offset, data: append([]byte(nil), s.data...)})
	}
	var out []segment
	for _, s := range joined {
		d := s.data
		i := 0
		for i < len(d) {
			for i < len(d) && d[i] == 0 { // leading zeros, of any length
				i++
			}
			if i == len(d) {
				break
			}
			start, end := i, i
			for end < len(d) {
				if d[end] != 0 {
					end++
					continue
				}
				z := end
				for z < len(d) && d[z] == 0 {
					z++
				}
				if z-end >= minZeros || z == len(d) {
					break
				}
				end = z
			}
			out = append(out, segment{offset: s.offset + uint32(start), data: d[start:end]})
			i = end
		}
	}
	return out
}

// writeSegments encodes a data section's body.
func writeSegments(segs []segment) []byte {
	size := 5
	for _, s := range segs {
		size += 13 + len(s.data)
	}
	b := make([]byte, 0, size)
	b = appendU32(b, uint32(len(segs)))
	for _, s := range segs {
		b = append(b, 0x00, 0x41) // active, memory 0, i32.const
		b = appendS32(b, int32(s.offset))
		b = append(b, 0x0b)
		b = appendU32(b, uint32(len(s.data)))
		b = append(b, s.data...)
	}
	return b
}

// s32 reads a signed LEB128 of at most 5 bytes (the spec's i32).
func (r *reader) s32() (int32, error) {
	var v int64
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			shift := 7 * (i + 1)
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			if v < -1<<31 || v > 1<<31-1 {
				return 0, fmt.Errorf("%w: i32 overflows", ErrMalformed)
			}
			return int32(v), nil
		}
	}
	return 0, fmt.Errorf("%w: i32 longer than 5 bytes", ErrMalformed)
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendS32(b []byte, v int32) []byte {
	x := int64(v)
	for {
		c := byte(x & 0x7f)
		x >>= 7
		if x == 0 && c&0x40 == 0 || x == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
