package wasmsize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Addresses in linesModule besides goTables' ones: its two _func records
// and the end of its findfunctab.
const (
	lnFunc1    = 0x1220
	lnFunc2    = 0x1280
	lnEpclntab = 0x1400
)

// linesPctab is linesModule's PC-value tables, at the offsets its functions
// name: after the linker's leading zero, a stack table (1) that function 2
// also uses as its line table, a file table (4), a line table (7), a pcdata
// table (12), a file table with two-byte varints (15), an argument liveness
// table (20), and bytes no function names.
var linesPctab = cat(
	[]byte{0},
	[]byte{0x02, 0x04, 0x00},             // 1: pcsp of both, pcln of function 2
	[]byte{0x02, 0x10, 0x00},             // 4: pcfile of both
	[]byte{0x14, 0x08, 0x06, 0x08, 0x00}, // 7: pcln of function 1
	[]byte{0x01, 0x10, 0x00},             // 12: pcdata 0 (unsafe points) of function 1
	[]byte{0x80, 0x01, 0x90, 0x01, 0x00}, // 15: pcfile of function 2
	[]byte{0x02, 0x04, 0x00},             // 20: pcdata 3 (argument liveness) of function 1
	bytes.Repeat([]byte{'p'}, 0x50-23),
)

// linesGofunc is linesModule's funcdata: function 1's argument info (0), a
// stack map (5), and argument info (13) that function 2 also names as a
// stack map.
var linesGofunc = cat(
	[]byte{0x00, 0x08, 0xfe, 0xfd, 0xff},
	bytes.Repeat([]byte{'g'}, 8),
	[]byte{0x10, 0x04, 0xff},
	bytes.Repeat([]byte{'g'}, 0x80-16),
)

// goFunc is a runtime._func record with its pcdata offsets.
func goFunc(entry, pcsp, pcfile, pcln uint32, pcdata ...uint32) []byte {
	b := make([]byte, funcHeader+4*len(pcdata))
	le := binary.LittleEndian
	le.PutUint32(b[0:], entry)
	le.PutUint32(b[4:], 1) // nameOff
	le.PutUint32(b[funcPCSP:], pcsp)
	le.PutUint32(b[funcPCFile:], pcfile)
	le.PutUint32(b[funcPCLine:], pcln)
	le.PutUint32(b[funcNPCData:], uint32(len(pcdata)))
	le.PutUint32(b[funcCU:], 3)   // cuOffset
	le.PutUint32(b[funcCU+4:], 7) // startLine
	for i, o := range pcdata {
		le.PutUint32(b[funcHeader+4*i:], o)
	}
	return b
}

// withFuncdata sets a _func record's funcdata offsets.
func withFuncdata(rec []byte, offs ...uint32) []byte {
	rec = append([]byte(nil), rec...)
	rec[funcNFData] = byte(len(offs))
	for _, o := range offs {
		rec = binary.LittleEndian.AppendUint32(rec, o)
	}
	return rec
}

const none = funcdataNone

// linesFuncs are linesModule's two functions as the linker writes them.
func linesFuncs() (f1, f2 []byte) {
	return withFuncdata(goFunc(0, 1, 4, 7, 12, 1, 0, 20), 5, none, none, none, none, 0, none),
		withFuncdata(goFunc(0x10, 1, 15, 1), none, 13, none, none, none, 13, 5)
}

// linesModule is a module whose data section holds a Go 1.26 PC/line table
// with two functions; nftab and the functions' records can be forged.
func linesModule(nftab uint64, f1, f2 []byte) []byte {
	header, md, data := goTables(nftab, lnEpclntab)
	ftab := make([]byte, 0x20)
	for i, e := range [][2]uint32{{0, lnFunc1 - goPclntable}, {0x10, lnFunc2 - goPclntable}, {0x20, 0}} {
		binary.LittleEndian.PutUint32(ftab[8*i:], e[0])
		binary.LittleEndian.PutUint32(ftab[8*i+4:], e[1])
	}
	pad := func(b []byte, n int) []byte { return cat(b[:min(n, len(b))], fill(n-min(n, len(b)), 0)) }
	pclntable := cat(ftab, pad(f1, lnFunc2-lnFunc1), pad(f2, 0x100-(lnFunc2-goPclntable)))
	return dataModule(
		md, data,
		seg(goRodata, fill(goHdr-goRodata, 'r')),
		seg(goHdr, cat(header, fill(goNames+0x40-goHdr-len(header), 'f'), fill(0x10, 'c'), fill(0x18, 'l'), linesPctab,
			fill(goPclntable-goPctab-0x50, 0), pclntable, linesGofunc, fill(lnEpclntab-goFindfunc, 'b'))),
	)
}

func TestStripLines(t *testing.T) {
	f1, f2 := linesFuncs()
	in := linesModule(3, f1, f2)
	out, stats, err := StripLines(in)
	if err != nil {
		t.Fatal(err)
	}
	want := LineStats{Funcs: 2, Zeroed: 3 + 5 + 3 + 5 + 3, Shared: 3, FileTab: 0x28, ArgInfo: 5}
	if stats != want {
		t.Errorf("stats %+v, want %+v", stats, want)
	}
	_, before, _ := memoryOf(t, in)
	_, after, _ := memoryOf(t, out)
	lo, _, _ := memoryOf(t, in)
	at := func(mem []byte, addr, n int) []byte { return mem[addr-lo : addr-lo+n] }
	wantPctab := append([]byte(nil), linesPctab...)
	clear(wantPctab[4:12])  // the file and line tables of function 1
	clear(wantPctab[15:20]) // function 2's file table; its line table is its stack table
	clear(wantPctab[12:15]) // function 1's unsafe points
	clear(wantPctab[20:23]) // function 1's argument liveness
	if got := at(after, goPctab, 0x50); !bytes.Equal(got, wantPctab) {
		t.Errorf("pctab\n got %x\nwant %x", got, wantPctab)
	}
	if got := at(after, goCutab, 0x28); !bytes.Equal(got, make([]byte, 0x28)) {
		t.Errorf("cutab and filetab not zeroed: %x", got)
	}
	for _, f := range []struct {
		addr int
		want []byte
	}{
		{lnFunc1, withFuncdata(goFunc(0, 1, 0, 0, 0, 1, 0, 0), 5, none, none, none, none, none, none)},
		{lnFunc2, withFuncdata(goFunc(0x10, 1, 0, 0), none, 13, none, none, none, none, none)},
	} {
		clear(f.want[funcCU : funcCU+8]) // no compilation unit, no start line
		if got := at(after, f.addr, len(f.want)); !bytes.Equal(got, f.want) {
			t.Errorf("func at %#x\n got %x\nwant %x", f.addr, got, f.want)
		}
	}
	wantGofunc := append([]byte(nil), linesGofunc...)
	clear(wantGofunc[:5]) // function 1's argument info; function 2's is a stack map too
	if got := at(after, goGofunc, 0x80); !bytes.Equal(got, wantGofunc) {
		t.Errorf("funcdata\n got %x\nwant %x", got, wantGofunc)
	}
	// Everything else is the same memory.
	for _, r := range [][2]int{{goCutab, goCutab + 0x28}, {goPctab, goPctab + 0x50}, {lnFunc1, lnFunc2}, {lnFunc2, goGofunc + 5}} {
		clear(before[r[0]-lo : r[1]-lo])
		clear(after[r[0]-lo : r[1]-lo])
	}
	if !bytes.Equal(before, after) {
		t.Error("memory outside the file and line tables changed")
	}
	if _, again, _ := memoryOf(t, in); !bytes.Contains(again, linesPctab) {
		t.Error("StripLines changed its input")
	}
	if m, err := Parse(out); err != nil || len(m.Funcs) != len(mustParse(t, in).Funcs) {
		t.Errorf("stripped module: %v", err)
	}
}

func mustParse(t *testing.T, b []byte) *Module {
	t.Helper()
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStripLinesRefuses(t *testing.T) {
	ok1, ok2 := linesFuncs()
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"no moduledata", dataModule(seg(100, pcHeaderMagic)), ErrNoModuledata},
		{"no data section", bytes.Replace(testModule(), section(11, make([]byte, 50)), nil, 1), ErrNoData},
		{"function table past its end", linesModule(40, ok1, ok2), ErrUnsupported},
		{"empty function table", linesModule(0, ok1, ok2), ErrUnsupported},
		{"pcsp past pctab", linesModule(3, goFunc(0, 0x50, 4, 7), ok2), ErrUnsupported},
		{"table running off pctab", linesModule(3, goFunc(0, 23, 4, 7), ok2), ErrUnsupported},
		{"argument info without an end", linesModule(3, ok1, withFuncdata(goFunc(0x10, 1, 15, 1), none, none, none, none, none, 16)), ErrUnsupported},
		{"argument info past the funcdata", linesModule(3, ok1, withFuncdata(goFunc(0x10, 1, 15, 1), none, none, none, none, none, 0x200)), ErrUnsupported},
		{"funcdata past the record", linesModule(3, ok1, withFuncdata(goFunc(0x10, 1, 15, 1), make([]uint32, 40)...)), ErrUnsupported},
		{"pcdata count past the record", linesModule(3, ok1, goFunc(0x10, 1, 4, 7, make([]uint32, maxPCData+1)...)), ErrUnsupported},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := StripLines(c.b); !errors.Is(err, c.want) {
				t.Errorf("err %v, want %v", err, c.want)
			}
		})
	}
}

// stackProg links testdata/stackprog for js/wasm and returns its module
// and a function that runs a module under Node and returns its output. It
// skips under -short and without Node.
func stackProg(t *testing.T) (module []byte, run func([]byte) string) {
	t.Helper()
	if testing.Short() {
		t.Skip("links a program for js/wasm and runs it under Node")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed (make test-deps installs it)")
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "prog.wasm")
	build := exec.Command("go", "build", "-o", path, "./testdata/stackprog")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	if module, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "go_js_wasm_exec")
	return module, func(b []byte) string {
		t.Helper()
		path := filepath.Join(dir, "run.wasm")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(exe, path).CombinedOutput()
		if err != nil {
			t.Fatalf("run: %v\n%s", err, out)
		}
		return string(out)
	}
}

// TestStripLinesRunsGo links a Go program for js/wasm, strips its file and
// line tables and runs it under Node: panics recover, stacks grow, the
// garbage collector scans frames, goroutines switch, and stack traces name
// every function with "?" for its file.
func TestStripLinesRunsGo(t *testing.T) {
	b, run := stackProg(t)
	full := run(b)
	stripped, stats, err := StripLines(b)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Funcs < 1000 || stats.Zeroed == 0 {
		t.Errorf("stats %+v: stripped too little", stats)
	}
	if stripped, err = PackData(stripped, DefaultZeroRun); err != nil {
		t.Fatal(err)
	}
	got := run(stripped)
	if !strings.Contains(full, "stackprog/main.go") {
		t.Fatalf("the unstripped program shows no file names:\n%s", full)
	}
	// The same run, with every place shown as "?:0".
	want := full
	for _, line := range strings.Split(full, "\n") {
		if i := strings.Index(line, " at "); i >= 0 {
			want = strings.Replace(want, line, line[:i]+" at ?:0", 1)
		}
	}
	if got != want {
		t.Errorf("stripped program's output\n%s\nwant\n%s", got, want)
	}
}

func FuzzStripLines(f *testing.F) {
	f1, f2 := linesFuncs()
	f.Add(linesModule(3, f1, f2))
	f.Add(linesModule(3, goFunc(0, 23, 4, 7), goFunc(0x10, 1, 15, 1)))
	f.Add(goDataModule())
	f.Add(testModule())
	f.Fuzz(func(t *testing.T, b []byte) {
		out, _, err := StripLines(b)
		if err != nil {
			return
		}
		lo1, mem1, _ := memoryOf(t, b)
		lo2, mem2, _ := memoryOf(t, out)
		if len(mem2) > 0 && lo2 < lo1 || len(mem2)+lo2 > len(mem1)+lo1 {
			t.Fatalf("memory grew: [%d, %d) from [%d, %d)", lo2, lo2+len(mem2), lo1, lo1+len(mem1))
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("stripped module does not parse: %v", err)
		}
	})
}
