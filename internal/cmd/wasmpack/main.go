// Command wasmpack makes the WebAssembly module Go links for the console
// smaller to download, without changing what it runs: it drops the tables
// of Go's PC/line table that only stack traces read, file and line numbers
// and argument info, and the unsafe-point tables nothing reads on js/wasm
// (see wasmsize.StripLines: stack traces name functions but show "?:0" for
// their place, as DWARF is already left out by -w), and rewrites the data section into fewer, longer segments (see
// wasmsize.PackData). `make wasm` runs it on the console before compressing
// it:
//
//	go run ./internal/cmd/wasmpack [-zeros 65536] [-lines] web/app.wasm.new
package main

import (
	"flag"
	"fmt"
	"os"

	"trustforge/internal/wasmsize"
)

func main() {
	zeros := flag.Int("zeros", wasmsize.DefaultZeroRun, "shortest run of zero bytes left out of a segment")
	lines := flag.Bool("lines", false, "keep the file and line tables (stack traces with file:line)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: wasmpack [-zeros N] [-lines] MODULE.wasm [OUT.wasm]\n\nRewrites MODULE in place unless OUT is given.")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 || flag.NArg() > 2 {
		flag.Usage()
		os.Exit(2)
	}
	in, out := flag.Arg(0), flag.Arg(0)
	if flag.NArg() == 2 {
		out = flag.Arg(1)
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
	packed, err := wasmsize.PackData(b, *zeros)
	if err != nil {
		fatal(fmt.Errorf("%s: %w", in, err))
	}
	tmp := out + ".packing"
	if err := os.WriteFile(tmp, packed, 0o644); err != nil {
		fatal(err)
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "wasmpack:", err)
	os.Exit(1)
}
