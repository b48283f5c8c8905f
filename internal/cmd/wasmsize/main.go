// Command wasmsize prints where the bytes of a WebAssembly module go: its
// sections, its code by Go package and by module, and its data section by
// the parts of a Go program's memory. Sizes by package need
// the name section, which Go's linker leaves out under -ldflags=-s (`make
// bench` links a copy of the console without -s for this), and the list of
// packages the program links, to undo the linker's mangling of names:
//
//	GOOS=js GOARCH=wasm go list -deps ./wasm > deps.txt
//	go run ./internal/cmd/wasmsize -pkgs deps.txt [-top 25] bin/app-names.wasm
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"trustforge/internal/wasmsize"
)

func main() {
	top := flag.Int("top", 25, "how many packages to list (0: all)")
	pkgList := flag.String("pkgs", "", "file of the import paths the module links, one a line (`go list -deps`)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: wasmsize [-pkgs FILE] [-top N] MODULE.wasm")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	var paths []string
	if *pkgList != "" {
		b, err := os.ReadFile(*pkgList)
		if err != nil {
			fatal(err)
		}
		paths = strings.Fields(string(b))
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fatal(err)
	}
	m, err := wasmsize.Parse(b)
	if err != nil {
		fatal(fmt.Errorf("%s: %w", flag.Arg(0), err))
	}
	fmt.Printf("%s\n\n", flag.Arg(0))
	if err := m.Report(os.Stdout, wasmsize.NewPackages(paths), *top); err != nil {
		fatal(err)
	}
	if err := m.ReportData(os.Stdout); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "wasmsize:", err)
	os.Exit(1)
}
