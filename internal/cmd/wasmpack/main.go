// Command wasmpack rewrites the data section of a WebAssembly module linked
// by Go into fewer, longer segments (see wasmsize.PackData): the module
// starts with the same memory, and its brotli copy is smaller. `make wasm`
// runs it on the console before compressing it:
//
//	go run ./internal/cmd/wasmpack [-zeros 1024] web/app.wasm.new
package main

import (
	"flag"
	"fmt"
	"os"

	"trustforge/internal/wasmsize"
)

func main() {
	zeros := flag.Int("zeros", wasmsize.DefaultZeroRun, "shortest run of zero bytes left out of a segment")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: wasmpack [-zeros N] MODULE.wasm [OUT.wasm]\n\nRewrites MODULE in place unless OUT is given.")
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
