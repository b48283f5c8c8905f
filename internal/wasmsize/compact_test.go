package wasmsize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// TestCompactNamesRunsGo moves a Go program's function names together and
// runs it under Node: its stack traces, panics and reflect's messages print
// exactly what the program printed before, and every function record and
// inlined call names the function it named before. The table's bytes past
// the names are zeros, which PackData leaves out.
func TestCompactNamesRunsGo(t *testing.T) {
	b, run := stackProg(t)
	short, _, _, err := StripNames(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{b, short} {
		want := run(in)
		out, stats, err := CompactNames(in)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Records < 1000 || stats.Inlined == 0 || stats.Used > stats.Bytes {
			t.Errorf("stats %+v: not a Go program's names", stats)
		}
		if before, after := recordNames(t, in), recordNames(t, out); !slices.Equal(before, after) {
			t.Fatalf("function records name other functions after the move")
		}
		packed, err := PackData(out, DefaultZeroRun)
		if err != nil {
			t.Fatal(err)
		}
		if got := run(packed); got != want {
			t.Errorf("program's output\n%s\nwant\n%s", got, want)
		}
		if &in[0] != &short[0] {
			continue
		}
		// The runtime's and reflect's names stay whole: most of this
		// program's table.
		if stats.Used > stats.Bytes*3/4 {
			t.Errorf("stats %+v: short names should take a quarter less", stats)
		}
		plain, err := PackData(in, DefaultZeroRun)
		if err != nil {
			t.Fatal(err)
		}
		if len(packed) > len(plain)-(stats.Bytes-stats.Used)/2 {
			t.Errorf("packed module %d bytes, %d before: the names' table did not shrink", len(packed), len(plain))
		}
	}
	// A record naming the middle of a name is refused.
	bad, err := rewriteData(b, func(segs []segment) ([]segment, error) {
		mem := memory(segs)
		md, _ := findModuledata(mem)
		pclntab := binary.LittleEndian.Uint64(mem.read(md+8*13, 8))
		f := pclntab + uint64(binary.LittleEndian.Uint32(mem.read(uint32(pclntab)+8+4, 4))) // the second record
		off := binary.LittleEndian.Uint32(mem.read(uint32(f+4), 4))
		var w [4]byte
		binary.LittleEndian.PutUint32(w[:], off+1)
		write(segs, f+4, w[:])
		return segs, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := CompactNames(bad); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a record naming the middle of a name: %v, want ErrUnsupported", err)
	}
}

// recordNames returns the name each function record names.
func recordNames(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	readModuledata(t, b, func(mem memory, w func(int) uint64) {
		u32 := func(a uint64) uint32 { return binary.LittleEndian.Uint32(mem.read(uint32(a), 4)) }
		names, nnames, pclntab, nftab := w(1), w(2), w(13), w(17)
		tab := mem.read(uint32(names), int(nnames))
		for i := range nftab - 1 {
			f := pclntab + uint64(u32(pclntab+8*i+4))
			off := u32(f + 4)
			out = append(out, string(tab[off:off+uint32(bytes.IndexByte(tab[off:], 0))]))
		}
	})
	return out
}

// readModuledata calls fn with the initial memory of the Go module b and
// the words of its runtime.moduledata.
func readModuledata(t *testing.T, b []byte, fn func(mem memory, w func(int) uint64)) {
	t.Helper()
	if _, err := rewriteData(b, func(segs []segment) ([]segment, error) {
		mem := memory(segs)
		md, ok := findModuledata(mem)
		if !ok {
			t.Fatal("no moduledata in a Go program")
		}
		fn(mem, func(i int) uint64 { return binary.LittleEndian.Uint64(mem.read(md+uint32(8*i), 8)) })
		return segs, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func FuzzCompactNames(f *testing.F) {
	f.Add(namesModule(namesTab))
	f.Add(goDataModule())
	f.Add(testModule())
	f.Fuzz(func(t *testing.T, b []byte) {
		out, stats, err := CompactNames(b)
		if err != nil {
			return
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("compacted module does not parse: %v", err)
		}
		if stats.Used > stats.Bytes {
			t.Fatalf("stats %+v: the names grew", stats)
		}
	})
}
