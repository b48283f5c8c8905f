// Command releasebench measures the trustforge release server: upload and
// download of large bundles (throughput, server peak RSS) and concurrent
// downloads against http.FileServer. `make bench` runs it; it only wires
// trustforge/server/internal/releasebench.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"trustforge/server/internal/releasebench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) == 4 && os.Args[1] == "child" {
		if err := releasebench.ServeChild(ctx, os.Args[2], os.Args[3], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "releasebench child:", err)
			os.Exit(1)
		}
		return
	}
	large := flag.String("large", "32,256", "comma-separated bundle sizes in MiB for the upload/download phase")
	conc := flag.Int("concurrent-size", 16, "bundle size in MiB for the concurrent phase")
	clients := flag.Int("clients", 100, "concurrent downloads")
	rounds := flag.Int("rounds", 2, "downloads per client")
	flag.Parse()
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "releasebench:", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "releasebench-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "releasebench:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	var sizes []int
	for _, s := range strings.Split(*large, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "releasebench: bad size %q\n", s)
			os.Exit(2)
		}
		sizes = append(sizes, n)
	}
	cfg := releasebench.Config{Self: self, Dir: dir, LargeMiB: sizes, ConcurrentMiB: *conc, Clients: *clients, Rounds: *rounds}
	if err := releasebench.Run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "releasebench:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
}
