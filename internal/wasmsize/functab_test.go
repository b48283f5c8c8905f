package wasmsize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGenerateTablesRunsGo links a Go program for js/wasm, stores its
// function table as columns and its findfunctab as nothing, and runs it
// under Node: it prints exactly what the untouched program prints (panics,
// stack growth, the garbage collector's frame scans and stack traces all
// read the function table). The memory the start function leaves is byte
// for byte the memory the linker's data section gives.
func TestGenerateTablesRunsGo(t *testing.T) {
	b, run := stackProg(t)
	want := run(b)
	gen, ffStats, ftStats, err := GenerateTables(b)
	if err != nil {
		t.Fatal(err)
	}
	if ftStats.Funcs < 1000 || ftStats.Bytes < 40*ftStats.Funcs || ftStats.Blob > ffStats.Bytes {
		t.Errorf("stats %+v, findfunctab %+v: not a Go program's function table", ftStats, ffStats)
	}
	packed, err := PackData(gen, DefaultZeroRun)
	if err != nil {
		t.Fatal(err)
	}
	if got := run(packed); got != want {
		t.Errorf("program's output\n%s\nwant\n%s", got, want)
	}
	// The data section no longer holds the table: its place is zeros.
	lo, mem, _ := memoryOf(t, packed)
	full := append(make([]byte, lo), mem...)
	if end := int(ftStats.Addr) + ftStats.Bytes; end <= len(full) && !allZero(full[ftStats.Addr:end]) {
		t.Error("the function table is still in the data section")
	}
	if got, want := startedMemory(t, packed), linkedMemory(t, b); !bytes.Equal(got, want) {
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("memory after the start function differs first at %#x: %#x, want %#x", i, got[i], want[i])
			}
		}
	}
	// A second pass finds no findfunctab to take out, and says so.
	if _, _, _, err := GenerateTables(packed); !errors.Is(err, ErrIrregularFindFuncTab) {
		t.Errorf("second pass: %v, want ErrIrregularFindFuncTab", err)
	}
}

// linkedMemory is the memory the module's data section initialises, up to
// its last byte.
func linkedMemory(t *testing.T, b []byte) []byte {
	t.Helper()
	lo, mem, _ := memoryOf(t, b)
	return append(make([]byte, lo), mem...)
}

// startedMemory instantiates the module under Node, with every import a
// function that does nothing (instantiating runs the start function, not
// Go), and returns its memory up to its last byte that is not zero.
func startedMemory(t *testing.T, b []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	mod, dump := filepath.Join(dir, "m.wasm"), filepath.Join(dir, "mem")
	if err := os.WriteFile(mod, b, 0o644); err != nil {
		t.Fatal(err)
	}
	const script = `
const fs = require("fs");
const stub = new Proxy({}, { get: () => new Proxy({}, { get: () => () => {} }) });
WebAssembly.instantiate(fs.readFileSync(process.argv[1]), stub).then(({ instance }) => {
  fs.writeFileSync(process.argv[2], new Uint8Array(instance.exports.mem.buffer));
}).catch((e) => { console.error(e); process.exit(1); });
`
	if out, err := exec.Command("node", "-e", script, mod, dump).CombinedOutput(); err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	mem, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimRight(mem, "\x00")
}

// TestFuncTabColumns: the columns of a real table give it back, and
// tables laid out otherwise are refused rather than packed wrong.
func TestFuncTabColumns(t *testing.T) {
	b, _ := stackProg(t)
	var tab []byte
	var nftab uint32
	readModuledata(t, b, func(mem memory, w func(int) uint64) {
		tab, nftab = mem.read(uint32(w(13)), int(w(14))), uint32(w(17))
	})
	const at = 0x1000
	blob, npc, err := encodeFuncTab(tab, nftab, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(blob) > len(tab) || npc < 1 || npc > maxPCData {
		t.Errorf("columns of %d bytes (%d of pcdata) for a table of %d", len(blob), npc, len(tab))
	}
	if err := checkFuncTab(tab, blob, at, nftab, npc); err != nil {
		t.Fatal(err)
	}
	// The columns are what checkFuncTab says: a table they do not give
	// back is told apart.
	other := append([]byte(nil), tab...)
	other[len(other)/2] ^= 1
	if err := checkFuncTab(other, blob, at, nftab, npc); !errors.Is(err, ErrIrregularFuncTab) {
		t.Errorf("another table: %v, want ErrIrregularFuncTab", err)
	}
	first := binary.LittleEndian.Uint32(tab[4:])
	second := binary.LittleEndian.Uint32(tab[12:])
	for _, c := range []struct {
		name string
		edit func(tab []byte)
	}{
		{"a record out of place", func(tab []byte) { binary.LittleEndian.PutUint32(tab[12:], second+8) }},
		{"the index's last entry naming a record", func(tab []byte) { binary.LittleEndian.PutUint32(tab[8*(nftab-1)+4:], first) }},
		{"a record's pcdata past the end", func(tab []byte) { binary.LittleEndian.PutUint32(tab[first+28:], 1<<20) }},
	} {
		bad := append([]byte(nil), tab...)
		c.edit(bad)
		if _, _, err := encodeFuncTab(bad, nftab, at); !errors.Is(err, ErrIrregularFuncTab) {
			t.Errorf("%s: %v, want ErrIrregularFuncTab", c.name, err)
		}
	}
	if _, _, err := encodeFuncTab(append(append([]byte(nil), tab...), 0, 0, 0, 0, 1, 0, 0, 0), nftab, at); !errors.Is(err, ErrIrregularFuncTab) {
		t.Errorf("a word after the last record: %v, want ErrIrregularFuncTab", err)
	}
}

func FuzzFuncTabColumns(f *testing.F) {
	rec := func(words ...uint32) []byte {
		var b []byte
		for _, w := range words {
			b = binary.LittleEndian.AppendUint32(b, w)
		}
		return b
	}
	// Two records after an index of three entries: one with a pcdata and
	// a funcdata word, one with none, then padding.
	tab := rec(1, 24, 5, 80, 9, 0)
	tab = append(tab, rec(1, 2, 3, 4, 5, 6, 7, 1, 9, 10, 1<<24, 11, 12)...)
	tab = append(tab, rec(0)...) // pad to 8
	tab = append(tab, rec(5, 3, 0, 0, 6, 0, 0, 0, 0, 0, 0)...)
	f.Add(tab, uint32(3))
	f.Add([]byte{}, uint32(2))
	f.Fuzz(func(t *testing.T, tab []byte, nftab uint32) {
		blob, npc, err := encodeFuncTab(tab, nftab, 64)
		if err != nil {
			return
		}
		if err := checkFuncTab(tab, blob, 64, nftab, npc); err != nil {
			t.Fatalf("columns of a table that encoded: %v", err)
		}
	})
}
