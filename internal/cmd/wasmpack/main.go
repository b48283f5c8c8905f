// Command wasmpack makes the WebAssembly module Go links for the console
// smaller to download, without changing what it runs: it drops the tables
// of Go's PC/line table that only stack traces read, file and line numbers
// and argument info, and the unsafe-point tables nothing reads on js/wasm
// (see wasmsize.StripLines: stack traces name functions but show "?:0" for
// their place, as DWARF is already left out by -w); it replaces function
// names other than the runtime's and reflect's with short ones such as
// "~.2f4" (see wasmsize.StripNames), moves them together (see
// wasmsize.CompactNames) and writes the full names to a names file next to
// it; and it rewrites the data section into fewer, longer
// segments (see wasmsize.PackData), after taking out runtime.findfunctab,
// which a start function it adds writes instead (see
// wasmsize.GenerateFindFuncTab), and storing the function table as columns
// in its place, which that start function puts back together
// first (see wasmsize.GenerateTables). `make wasm` runs it on the console
// before compressing it:
//
//	go run ./internal/cmd/wasmpack [-zeros 512] [-lines] [-funcnames] [-findfunctab] [-functab] [-names FILE] web/app.wasm.new [OUT.wasm]
//
// The names file (OUT.names unless -names says where) is for engineers, not
// browsers. To read a stack trace copied from a browser's console with the
// full function names:
//
//	go run ./internal/cmd/wasmpack -symbolize bin/app.wasm.names [web/app.wasm] < trace.txt
//
// which checks, when given the module, that the names file was written for
// it.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"trustforge/internal/wasmsize"
)

func main() {
	zeros := flag.Int("zeros", wasmsize.DefaultZeroRun, "shortest run of zero bytes left out of a segment")
	lines := flag.Bool("lines", false, "keep the file and line tables (stack traces with file:line)")
	funcnames := flag.Bool("funcnames", false, "keep every function name (stack traces with full names, no names file)")
	findfunctab := flag.Bool("findfunctab", false, "keep runtime.findfunctab in the data section (no start function writes it)")
	functab := flag.Bool("functab", false, "keep the function table as the linker wrote it (not as columns)")
	namesPath := flag.String("names", "", "where to write the names file (default OUT.names)")
	symbolize := flag.String("symbolize", "", "read a stack trace on standard input and write it with the full names of this names `file`")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), `usage: wasmpack [-zeros N] [-lines] [-funcnames] [-findfunctab] [-functab] [-names FILE] MODULE.wasm [OUT.wasm]
       wasmpack -symbolize NAMES [MODULE.wasm] < trace.txt

Rewrites MODULE in place unless OUT is given; with -symbolize, writes the
stack trace on standard input with its short function names made full again.`)
		flag.PrintDefaults()
	}
	flag.Parse()
	if *symbolize != "" {
		if flag.NArg() > 1 {
			flag.Usage()
			os.Exit(2)
		}
		if err := symbolizeTrace(*symbolize, flag.Arg(0), os.Stdin, os.Stdout); err != nil {
			fatal(err)
		}
		return
	}
	if flag.NArg() < 1 || flag.NArg() > 2 {
		flag.Usage()
		os.Exit(2)
	}
	in, out := flag.Arg(0), flag.Arg(0)
	if flag.NArg() == 2 {
		out = flag.Arg(1)
	}
	if *namesPath == "" {
		*namesPath = out + ".names"
	}
	b, err := os.ReadFile(in)
	if err != nil {
		fatal(err)
	}
	if !*lines {
		var stats wasmsize.LineStats
		if b, stats, err = wasmsize.StripLines(b); err != nil {
			fatal(fmt.Errorf("%s: %w", in, err))
		}
		fmt.Printf("wasmpack: %s: file and line tables of %d functions left out (%d bytes of PC-value tables, %d of file names, %d of argument info)\n",
			in, stats.Funcs, stats.Zeroed, stats.FileTab, stats.ArgInfo)
	}
	var names wasmsize.Names
	if !*funcnames {
		var stats wasmsize.NameStats
		if b, names, stats, err = wasmsize.StripNames(b); err != nil {
			fatal(fmt.Errorf("%s: %w", in, err))
		}
		fmt.Printf("wasmpack: %s: %d of %d function names made short (%d bytes), %d kept; full names in %s\n",
			in, stats.Replaced, stats.Names, stats.Zeroed, stats.Kept, *namesPath)
		// Moving the names together is worth some bytes, not a failed
		// build: a table laid out otherwise stays as StripNames left it.
		compacted, cstats, err := wasmsize.CompactNames(b)
		switch {
		case errors.Is(err, wasmsize.ErrUnsupported):
			fmt.Printf("wasmpack: %s: function names left in place: %v\n", in, err)
		case err != nil:
			fatal(fmt.Errorf("%s: %w", in, err))
		default:
			b = compacted
			fmt.Printf("wasmpack: %s: function names moved together: %d of the table's %d bytes hold them (%d records, %d inlined calls pointed at them)\n",
				in, cstats.Used, cstats.Bytes, cstats.Records, cstats.Inlined)
		}
	}
	if !*findfunctab {
		var (
			gen     []byte
			stats   wasmsize.FindFuncStats
			ftStats wasmsize.FuncTabStats
			err     error
		)
		if !*functab {
			gen, stats, ftStats, err = wasmsize.GenerateTables(b)
			if errors.Is(err, wasmsize.ErrIrregularFuncTab) {
				fmt.Printf("wasmpack: %s: function table kept as it is: %v\n", in, err)
			}
		}
		if *functab || errors.Is(err, wasmsize.ErrIrregularFuncTab) {
			gen, stats, err = wasmsize.GenerateFindFuncTab(b)
		}
		switch {
		case errors.Is(err, wasmsize.ErrIrregularFindFuncTab):
			fmt.Printf("wasmpack: %s: runtime.findfunctab kept: %v\n", in, err)
		case err != nil:
			fatal(fmt.Errorf("%s: %w", in, err))
		default:
			b = gen
			fmt.Printf("wasmpack: %s: runtime.findfunctab (%d buckets, %d bytes) left out, written by a start function\n", in, stats.Buckets, stats.Bytes)
			if ftStats.Funcs > 0 {
				fmt.Printf("wasmpack: %s: function table of %d functions (%d bytes) stored as columns (%d bytes), put back together by the start function\n",
					in, ftStats.Funcs, ftStats.Bytes, ftStats.Blob)
			}
		}
	}
	packed, err := wasmsize.PackData(b, *zeros)
	if err != nil {
		fatal(fmt.Errorf("%s: %w", in, err))
	}
	if names != nil {
		var buf bytes.Buffer
		if err := wasmsize.WriteNames(&buf, packed, names); err != nil {
			fatal(err)
		}
		if err := writeFile(*namesPath, buf.Bytes()); err != nil {
			fatal(err)
		}
	}
	if err := writeFile(out, packed); err != nil {
		fatal(err)
	}
}

// symbolizeTrace copies the trace in r to w with the full names of the
// names file at path; module, if not "", is the module the trace came from.
func symbolizeTrace(path, module string, r io.Reader, w io.Writer) error {
	var mod []byte
	if module != "" {
		var err error
		if mod, err = os.ReadFile(module); err != nil {
			return err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := wasmsize.ReadNames(f, mod)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	trace, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, names.Symbolize(string(trace)))
	return err
}

// writeFile replaces the file at path with b.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".packing"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "wasmpack:", err)
	os.Exit(1)
}
