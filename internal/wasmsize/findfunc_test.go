package wasmsize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// TestGenerateFindFuncTabRunsGo links a Go program for js/wasm, takes its
// findfunctab out for the start function to write, and runs it under Node:
// the garbage collector's frame scans, panics, stack growth and traces (all
// of which map PCs to functions) print exactly what the untouched program
// prints. The table is gone from the data section and its memory is zero
// there until the start function runs.
func TestGenerateFindFuncTabRunsGo(t *testing.T) {
	b, run := stackProg(t)
	want := run(b)
	gen, stats, err := GenerateFindFuncTab(b)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Buckets < 1000 || stats.Bytes < 20*(stats.Buckets-1) {
		t.Errorf("stats %+v: too small a table for a Go program", stats)
	}
	packed, err := PackData(gen, DefaultZeroRun)
	if err != nil {
		t.Fatal(err)
	}
	if got := run(packed); got != want {
		t.Errorf("program's output\n%s\nwant\n%s", got, want)
	}
	plain, err := PackData(b, DefaultZeroRun)
	if err != nil {
		t.Fatal(err)
	}
	if len(packed) > len(plain)-stats.Bytes/2 {
		t.Errorf("module is %d bytes, %d with the table stored: the table was not left out", len(packed), len(plain))
	}
	lo1, mem1, _ := memoryOf(t, b)
	lo2, mem2, _ := memoryOf(t, packed)
	full := func(lo int, mem []byte) []byte { return append(make([]byte, lo), mem...) }
	m1, m2 := full(lo1, mem1), full(lo2, mem2)
	end := int(stats.Addr) + stats.Bytes
	if len(m2) < end {
		m2 = append(m2, make([]byte, end-len(m2))...)
	}
	if !bytes.Equal(m2[stats.Addr:end], make([]byte, stats.Bytes)) {
		t.Error("the table's memory is still initialised by the data section")
	}
	copy(m2[stats.Addr:end], m1[stats.Addr:end])
	if !bytes.Equal(bytes.TrimRight(m1, "\x00"), bytes.TrimRight(m2, "\x00")) {
		t.Error("memory outside the table changed")
	}
	// A second pass finds no table to take out, and says so.
	if _, _, err := GenerateFindFuncTab(packed); !errors.Is(err, ErrIrregularFindFuncTab) {
		t.Errorf("second pass: %v, want ErrIrregularFindFuncTab", err)
	}
}

// TestGenerateFindFuncTabRefuses: a table that is not the counter
// anywhere, a module without Go's moduledata and a module with a start
// function of its own are left alone with an error.
func TestGenerateFindFuncTabRefuses(t *testing.T) {
	b, _ := stackProg(t)
	// One index changed in the table.
	changed, err := rewriteData(b, func(segs []segment) ([]segment, error) {
		mem := memory(segs)
		md, ok := findModuledata(mem)
		if !ok {
			t.Fatal("no moduledata in a Go program")
		}
		table := binary.LittleEndian.Uint64(mem.read(md+8*19, 8))
		set(segs, table+20*100, 1, 0x7f)
		return segs, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := GenerateFindFuncTab(changed); !errors.Is(err, ErrIrregularFindFuncTab) {
		t.Errorf("changed table: %v, want ErrIrregularFindFuncTab", err)
	}
	if _, _, err := GenerateFindFuncTab(testModule()); err == nil {
		t.Error("module without Go's data section: no error")
	}
	if _, _, err := GenerateFindFuncTab(goDataModule()); !errors.Is(err, ErrIrregularFindFuncTab) {
		t.Errorf("synthetic table of 'b's: %v, want ErrIrregularFindFuncTab", err)
	}
	withStart, err := addStartFunc(b, []byte{0x00, 0x0b})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := GenerateFindFuncTab(withStart); !errors.Is(err, ErrUnsupported) {
		t.Errorf("module with a start function: %v, want ErrUnsupported", err)
	}
}

func FuzzGenerateFindFuncTab(f *testing.F) {
	f.Add(goDataModule())
	f.Add(testModule())
	f.Fuzz(func(t *testing.T, b []byte) {
		out, stats, err := GenerateFindFuncTab(b)
		if err != nil {
			return
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("module with the start function does not parse: %v", err)
		}
		if stats.Buckets <= 0 || stats.Bytes <= 0 {
			t.Fatalf("stats %+v for a table taken out", stats)
		}
	})
}
