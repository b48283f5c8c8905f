// Command wasmsize prints where the bytes of a WebAssembly module go: its
// sections, its code by Go package and by module, and its data section by
// the parts of a Go program's memory. Sizes by package need
// the name section, which Go's linker leaves out under -ldflags=-s (`make
// bench` links a copy of the console without -s for this), and the list of
// packages the program links, to undo the linker's mangling of names:
//
//	GOOS=js GOARCH=wasm go list -deps ./wasm > deps.txt
//	go run ./internal/cmd/wasmsize -pkgs deps.txt [-top 25] bin/app-names.wasm
//
// With -without, it instead writes a copy of the module without the code
// of the packages listed (see wasmsize.WithoutCode) and without its name
// section, to compress and compare with the module without only its name
// section (-without with no package matching, e.g. "-without none"):
//
//	go run ./internal/cmd/wasmsize -pkgs deps.txt -without github.com/fxamacker/cbor/v2 -o bin/nocbor.wasm bin/app-names.wasm
//	brotli -q 11 -w 24 -c bin/nocbor.wasm | wc -c
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
	without := flag.String("without", "", "write a copy without the code of these packages, `pkg1,pkg2`, to -o")
	outPath := flag.String("o", "", "where -without writes")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: wasmsize [-pkgs FILE] [-top N] MODULE.wasm\n       wasmsize -pkgs FILE -without PKG,... -o OUT.wasm MODULE.wasm")
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
	if *without != "" {
		if *outPath == "" {
			fatal(fmt.Errorf("-without needs -o"))
		}
		pkgs, drop := wasmsize.NewPackages(paths), map[string]bool{}
		for _, p := range strings.Split(*without, ",") {
			drop[p] = true
		}
		out, removed, err := wasmsize.WithoutCode(b, func(name string) bool { return drop[pkgs.Of(name)] })
		if err != nil {
			fatal(fmt.Errorf("%s: %w", flag.Arg(0), err))
		}
		if err := os.WriteFile(*outPath, out, 0o644); err != nil {
			fatal(err)
		}
		fmt.Printf("wasmsize: %s: %d bytes of code of %s left out\n", *outPath, removed, *without)
		return
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
