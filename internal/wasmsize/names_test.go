package wasmsize

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// namesTab is namesModule's function name table, 0x40 bytes: a name to
// replace, a runtime name, a name too short to replace, a reflect name, a
// long name, and empty names.
var namesTab = cat(
	[]byte("main.main\x00"),            // 0: ~.0
	[]byte("runtime.gopanic\x00"),      // 1: kept
	[]byte("a.b\x00"),                  // 2: as short as ~.2, kept
	[]byte("reflect.makeFuncStub\x00"), // 3: kept
	[]byte("x/y.(*T).M\x00"),           // 4: ~.4
	fill(0x40-10-16-4-21-11, 0),        // empty names
)

// namesModule is goDataModule with namesTab as its function name table.
func namesModule(tab []byte) []byte {
	const epclntab = 0x1800
	header, md, data := goTables(0, epclntab)
	return dataModule(
		md, data,
		seg(goRodata, fill(goHdr-goRodata, 'r')),
		seg(goHdr, cat(header, fill(goNames-goHdr-len(header), 'f'), tab, fill(0x10, 'c'), fill(0x18, 'l'), fill(0x50, 'p'),
			fill(goPclntable-goPctab-0x50, 0), fill(0x100, 't'), fill(0x80, 'g'), fill(0x20, 'b'))),
		seg(goFindfunc+0x400, fill(epclntab-goFindfunc-0x400, 'b')),
	)
}

func TestStripNames(t *testing.T) {
	in := namesModule(namesTab)
	out, names, stats, err := StripNames(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := (NameStats{Names: 5 + 2, Replaced: 2, Kept: 3, Zeroed: 9 - 3 + 10 - 3}); stats != want {
		t.Errorf("stats %+v, want %+v", stats, want)
	}
	if want := (Names{"main.main", "", "", "", "x/y.(*T).M", "", ""}); strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("names %q, want %q", names, want)
	}
	lo, before, _ := memoryOf(t, in)
	_, after, _ := memoryOf(t, out)
	wantTab := cat([]byte("~.0"), fill(7, 0), namesTab[10:51], []byte("~.4"), fill(8, 0), namesTab[62:])
	if got := after[goNames-lo : goNames-lo+0x40]; !bytes.Equal(got, wantTab) {
		t.Errorf("name table\n got %q\nwant %q", got, wantTab)
	}
	clear(before[goNames-lo : goNames-lo+0x40])
	clear(after[goNames-lo : goNames-lo+0x40])
	if !bytes.Equal(before, after) {
		t.Error("memory outside the name table changed")
	}
	if _, again, _ := memoryOf(t, in); !bytes.Contains(again, []byte("main.main")) {
		t.Error("StripNames changed its input")
	}
	if got := names.Symbolize("panic\n~.0()\n\t?:0 +0x3\ncreated by ~.4 in goroutine 1\n~.1 ~.7 ~.04 ~.ff ~.4g"); got != "panic\nmain.main()\n\t?:0 +0x3\ncreated by x/y.(*T).M in goroutine 1\n~.1 ~.7 ~.04 ~.ff ~.4g" {
		t.Errorf("symbolized %q", got)
	}
}

func TestStripNamesRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"no moduledata", dataModule(seg(100, pcHeaderMagic)), ErrNoModuledata},
		{"no data section", bytes.Replace(testModule(), section(11, make([]byte, 50)), nil, 1), ErrNoData},
		{"last name without an end", namesModule(fill(0x40, 'f')), ErrUnsupported},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, _, _, err := StripNames(c.b); !errors.Is(err, c.want) {
				t.Errorf("err %v, want %v", err, c.want)
			}
		})
	}
}

func TestNamesFile(t *testing.T) {
	module := []byte("a module")
	names := Names{"main.main", "", "", "x.F"}
	var buf bytes.Buffer
	if err := WriteNames(&buf, module, names); err != nil {
		t.Fatal(err)
	}
	got, err := ReadNames(bytes.NewReader(buf.Bytes()), module)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("read %q, want %q", got, names)
	}
	if _, err := ReadNames(bytes.NewReader(buf.Bytes()), []byte("another module")); !errors.Is(err, ErrNamesMismatch) {
		t.Errorf("another module: err %v, want ErrNamesMismatch", err)
	}
	if _, err := ReadNames(bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Errorf("without a module: %v", err)
	}
	header, _, _ := strings.Cut(buf.String(), "\n")
	for _, c := range []struct{ name, file, want string }{
		{"empty", "", "empty"},
		{"no header", "~.0\tmain.main\n", "no header"},
		{"bad hash", namesHeader + "abc\n", "bad module hash"},
		{"no tab", header + "\n~.0 main.main\n", "line 2"},
		{"not short", header + "\nx.0\tmain.main\n", "line 2"},
		{"empty name", header + "\n~.0\t\n", "line 2"},
		{"bad digits", header + "\n~.g\tmain.main\n", "bad short name"},
		{"leading zero", header + "\n~.01\tmain.main\n", "bad short name"},
		{"out of order", header + "\n~.3\tx.F\n~.1\tmain.main\n", "out of order"},
		{"repeated", header + "\n~.3\tx.F\n~.3\tx.G\n", "out of order"},
		{"too many", header + "\n~.ffffff\tx.F\n", "bad short name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ReadNames(strings.NewReader(c.file), nil); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want one saying %q", err, c.want)
			}
		})
	}
}

// TestStripNamesRunsGo links a Go program for js/wasm, strips its file and
// line tables and its function names and runs it under Node: it runs as
// with only its file and line tables stripped (calls through
// reflect.MakeFunc, reflect's panic messages, goroutine counts, stack
// traces hiding the runtime's frames), and its names file turns the short
// names it prints back into the full ones.
func TestStripNamesRunsGo(t *testing.T) {
	b, run := stackProg(t)
	lines, _, err := StripLines(b)
	if err != nil {
		t.Fatal(err)
	}
	want := run(lines)
	stripped, names, stats, err := StripNames(lines)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Replaced < 500 || stats.Kept == 0 {
		t.Errorf("stats %+v: replaced too little", stats)
	}
	if stripped, err = PackData(stripped, DefaultZeroRun); err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := WriteNames(&file, stripped, names); err != nil {
		t.Fatal(err)
	}
	if names, err = ReadNames(&file, stripped); err != nil {
		t.Fatal(err)
	}
	got := run(stripped)
	for _, s := range []string{"main.main", "main.printTrace", "reflect.Value.Len", "trace panic\n"} {
		if !strings.Contains(want, s) {
			t.Fatalf("the program without names stripped does not print %q:\n%s", s, want)
		}
	}
	if strings.Contains(got, "main.main") || !strings.Contains(got, NamePrefix) {
		t.Errorf("the program prints full names:\n%s", got)
	}
	if sym := names.Symbolize(got); sym != want {
		t.Errorf("stripped program's output, symbolized\n%s\nwant\n%s", sym, want)
	}
}

func FuzzStripNames(f *testing.F) {
	f.Add(namesModule(namesTab))
	f.Add(namesModule(fill(0x40, 'f')))
	f.Add(goDataModule())
	f.Add(testModule())
	f.Fuzz(func(t *testing.T, b []byte) {
		out, names, stats, err := StripNames(b)
		if err != nil {
			return
		}
		if stats.Replaced > len(names) || stats.Kept+stats.Replaced > stats.Names {
			t.Fatalf("stats %+v for %d names", stats, len(names))
		}
		_, mem1, _ := memoryOf(t, b)
		_, mem2, _ := memoryOf(t, out)
		if len(mem1) != len(mem2) {
			t.Fatalf("memory of %d bytes became %d", len(mem1), len(mem2))
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("stripped module does not parse: %v", err)
		}
	})
}

func FuzzReadNames(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteNames(&buf, []byte("m"), Names{"main.main", "", "x.F"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes(), "~.0() ~.2 ~.1 ~.")
	f.Add([]byte(namesHeader+"00\n~.0\tx\n"), "")
	f.Add([]byte("~.0\tmain.main\n"), "~.0")
	f.Fuzz(func(t *testing.T, file []byte, trace string) {
		names, err := ReadNames(bytes.NewReader(file), nil)
		if err != nil {
			return
		}
		var again bytes.Buffer
		if err := WriteNames(&again, []byte("m"), names); err != nil {
			t.Fatal(err)
		}
		back, err := ReadNames(&again, []byte("m"))
		if err != nil || strings.Join(back, "\n") != strings.Join(names, "\n") {
			t.Fatalf("names %q did not round-trip: %q, %v", names, back, err)
		}
		names.Symbolize(trace)
	})
}
