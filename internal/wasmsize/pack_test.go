package wasmsize

import (
	"bytes"
	"errors"
	"testing"
)

// seg is an active data segment of memory 0 at off.
func seg(off int32, data []byte) []byte {
	return cat([]byte{0x00, 0x41}, appendS32(nil, off), []byte{0x0b}, leb(uint32(len(data))), data)
}

// dataModule is testModule with its data section replaced by segs, written
// in the order given.
func dataModule(segs ...[]byte) []byte {
	b := testModule()
	data := cat(append([][]byte{leb(uint32(len(segs)))}, segs...)...)
	// testModule's data section is the 50 zero bytes after the code section.
	i := bytes.Index(b, section(11, make([]byte, 50)))
	return cat(b[:i], section(11, data), b[i+len(section(11, make([]byte, 50))):])
}

// memoryOf returns the memory a module's data section initialises, from its
// first non-zero byte, with the offset of that byte.
func memoryOf(t *testing.T, b []byte) (int, []byte, []segment) {
	t.Helper()
	r := &reader{b: b, off: 8}
	for !r.eof() {
		id, _ := r.byte()
		size, _ := r.u32()
		body, _ := r.bytes(size)
		if id != 11 {
			continue
		}
		segs, err := readSegments(body)
		if err != nil {
			t.Fatal(err)
		}
		var mem []byte
		for _, s := range segs {
			if end := int(s.offset) + len(s.data); end > len(mem) {
				mem = append(mem, make([]byte, end-len(mem))...)
			}
			copy(mem[s.offset:], s.data)
		}
		lo := 0
		for lo < len(mem) && mem[lo] == 0 {
			lo++
		}
		return lo, bytes.TrimRight(mem[lo:], "\x00"), segs
	}
	t.Fatal("no data section")
	return 0, nil, nil
}

func TestPackDataKeepsMemory(t *testing.T) {
	zeros := func(n int) []byte { return make([]byte, n) }
	// As Go's linker writes it: out of address order, split at runs of 8 zero
	// bytes, one segment with a long zero run inside and zeros at its ends.
	in := dataModule(
		seg(5000, []byte{9, 9}),
		seg(100, []byte{1, 2, 3}),
		seg(111, []byte{4}), // 8 zeros after the one before
		seg(140, cat([]byte{5}, zeros(40), []byte{6}, zeros(3))), // a run of 40 inside
		seg(4000, cat(zeros(2), []byte{7, 0, 8})),
	)
	out, err := PackData(in, 16)
	if err != nil {
		t.Fatal(err)
	}
	lo1, mem1, _ := memoryOf(t, in)
	lo2, mem2, segs := memoryOf(t, out)
	if lo1 != lo2 || !bytes.Equal(mem1, mem2) {
		t.Fatalf("memory changed: at %d % x, now at %d % x", lo1, mem1, lo2, mem2)
	}
	want := []segment{
		{100, cat([]byte{1, 2, 3}, zeros(8), []byte{4})},
		{140, []byte{5}},
		{181, []byte{6}},
		{4002, []byte{7, 0, 8}},
		{5000, []byte{9, 9}},
	}
	if len(segs) != len(want) {
		t.Fatalf("%d segments, want %d: %v", len(segs), len(want), segs)
	}
	for i := range want {
		if segs[i].offset != want[i].offset || !bytes.Equal(segs[i].data, want[i].data) {
			t.Errorf("segment %d: at %d % x, want at %d % x", i, segs[i].offset, segs[i].data, want[i].offset, want[i].data)
		}
	}
	// Every other section is untouched: the module parses to the same
	// functions and names.
	a, _ := Parse(in)
	b, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Funcs) != len(b.Funcs) || a.Funcs[2] != b.Funcs[2] || !b.Named {
		t.Errorf("functions changed: %v, now %v", a.Funcs, b.Funcs)
	}
	// Packing again changes nothing.
	again, err := PackData(out, 16)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("packing a packed module changed it (err %v)", err)
	}
}

func TestPackDataRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"passive segment", dataModule([]byte{0x01, 0x02, 0x07, 0x08}), ErrUnsupported},
		{"offset from a global", dataModule([]byte{0x00, 0x23, 0x00, 0x0b, 0x01, 0x07}), ErrUnsupported},
		{"overlapping", dataModule(seg(10, []byte{1, 2, 3}), seg(12, []byte{4})), ErrUnsupported},
		{"negative offset", dataModule(seg(-4, []byte{1})), ErrUnsupported},
		{"beyond 1 GiB", dataModule(seg(1<<30, []byte{1})), ErrUnsupported},
		{"truncated segment", dataModule([]byte{0x00, 0x41, 0x00, 0x0b, 0x05, 0x01}), ErrTruncated},
		{"not a module", []byte("\x00asn\x01\x00\x00\x00"), ErrMagic},
		{"no data section", []byte("\x00asm\x01\x00\x00\x00"), ErrNoData},
		{"data count section", cat([]byte("\x00asm\x01\x00\x00\x00"), section(12, leb(0)), section(11, leb(0))), ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PackData(tc.in, DefaultZeroRun)
			if !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzPackData(f *testing.F) {
	f.Add(dataModule(seg(100, []byte{1, 2, 3}), seg(111, []byte{4})), 16)
	f.Add(dataModule(seg(7, cat([]byte{5}, make([]byte, 20), []byte{6}))), 8)
	f.Add(testModule(), 1024)
	f.Fuzz(func(t *testing.T, b []byte, zeros int) {
		zeros %= 4096
		out, err := PackData(b, zeros)
		if err != nil {
			return
		}
		lo1, mem1, _ := memoryOf(t, b)
		lo2, mem2, _ := memoryOf(t, out)
		if len(mem1) > 0 && lo1 != lo2 || !bytes.Equal(mem1, mem2) {
			t.Fatalf("memory changed")
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("packed module does not parse: %v", err)
		}
	})
}
