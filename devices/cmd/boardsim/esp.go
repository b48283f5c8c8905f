package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"trustforge/crypto/espimg"
	"trustforge/devices/sim"
)

// espOptions are the flags that matter for a simulated ESP32.
type espOptions struct {
	chip      espimg.Chip
	baud      int
	pty       bool
	ws        string
	flashSize int
	usbJTAG   bool
	run       bool
	verbose   bool
}

// runESP serves a simulated ESP32-C3's (or ESP32-S3's) ROM loader.
func runESP(ctx context.Context, o espOptions, out io.Writer) error {
	cfg := sim.ESPConfig{Chip: o.chip, Baud: o.baud, FlashSize: o.flashSize, USBJTAG: o.usbJTAG, RunAtStart: o.run,
		SyncEntersDownload: true}
	if o.verbose {
		cfg.Log = os.Stderr
	}
	e := sim.NewESPBoard(cfg)
	fmt.Fprintf(out, "boardsim: %v v0.4, %d MiB flash, %s, blank eFuses (no Secure Boot, no flash encryption)\n",
		cfg.Chip, max(o.flashSize, 4<<20)>>20, baudString(o.baud))
	fmt.Fprintln(out, "boardsim: a SYNC while the app runs resets into download mode, standing in for the auto-reset lines a pty lacks")
	errc := make(chan error, 2)
	if o.pty {
		p, err := sim.OpenPTY()
		if err != nil {
			return err
		}
		defer p.Close()
		fmt.Fprintf(out, "boardsim: serial on %s\n", p.Path())
		go func() { errc <- e.Serve(ctx, p) }()
	}
	if o.ws != "" {
		ln, err := net.Listen("tcp", o.ws)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/serial", sim.NewESPHandler(e))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		fmt.Fprintf(out, "boardsim: WebSocket on ws://%s/serial\n", ln.Addr())
		go func() { errc <- srv.Serve(ln) }()
		defer srv.Close()
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}
