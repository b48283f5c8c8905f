// Command boardsim runs trustforge's reference board: a simulated
// microcontroller with an MCUboot bootloader and a Zephyr SMP server, on a
// pseudo-terminal that any serial tool can open (--pty) and on a WebSocket
// for the browser console (--ws). See package trustforge/devices/sim.
//
//	boardsim --pty --baud 115200 --flash board.flash --boot-key signer-pub.pem
//
// It only wires flags to the simulator.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"trustforge/crypto/espimg"
	"trustforge/crypto/keys"
	"trustforge/devices/sim"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "boardsim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("boardsim", flag.ContinueOnError)
	fs.SetOutput(out)
	var (
		usePTY     = fs.Bool("pty", false, "serve the board's UART on a new pseudo-terminal")
		wsAddr     = fs.String("ws", "", "serve the board's UART as a WebSocket at `host:port`/serial (binary messages carry the serial bytes)")
		cfg        sim.Config
		bootKeys   listFlag
		encKey     = fs.String("enc-key", "", "the board's image decryption key (X25519 or P-256 private key, `PEM`)")
		program    = fs.String("program", "", "write this `image` into the primary slot first, as a debug probe would")
		verbose    = fs.Bool("v", false, "log the simulator's events (boots, faults, dropped frames) to stderr")
		dropAfter  = fs.Int64("drop-link-after", -1, "pull the link after this many `bytes` from the host")
		linkDown   = fs.Duration("link-down", 2*time.Second, "how long a pulled link stays down")
		cutAfter   = fs.Int64("power-cut-after", -1, "cut the power after this many `bytes` from the host")
		powerOff   = fs.Duration("power-off", time.Second, "how long the power stays off after a cut")
		corruptReq = fs.Int("corrupt-request", 0, "corrupt the `n`th frame from the host")
		corruptAns = fs.Int("corrupt-answer", 0, "corrupt the `n`th answer frame")
		slow       = fs.Duration("answer-delay", 0, "delay every answer by this `duration`")
		chip       = fs.String("chip", "", "simulate this chip's ROM loader instead of an MCUboot board (esp32c3, esp32s3)")
		espFlash   = fs.Int("esp-flash-size", 4<<20, "with --chip: flash size in `bytes`")
		espUSB     = fs.Bool("esp-usb-jtag", false, "with --chip: the modem lines act as the USB-Serial-JTAG peripheral reads them")
		espRun     = fs.Bool("esp-run", false, "with --chip: boot the flash at start instead of waiting in download mode")
	)
	fs.IntVar(&cfg.Baud, "baud", 115200, "pace the UART at this many bits per second (0: unpaced)")
	fs.StringVar(&cfg.FlashFile, "flash", "", "keep the flash in this `file` so power cycles and restarts keep it (default: in memory)")
	fs.IntVar(&cfg.SlotSize, "slot-size", sim.DefaultSlotSize, "size of each image slot in `bytes` (0x prefix for hex)")
	fs.IntVar(&cfg.SectorSize, "sector-size", sim.DefaultSectorSize, "flash erase unit in `bytes`")
	fs.IntVar(&cfg.Align, "align", sim.DefaultAlign, "flash write alignment in `bytes`")
	fs.IntVar(&cfg.BufSize, "buf-size", sim.DefaultBufSize, "SMP buffer size in `bytes`")
	fs.IntVar(&cfg.BufCount, "buf-count", sim.DefaultBufCount, "number of SMP buffers")
	fs.StringVar(&cfg.Provisioning.File, "provisioning", "", "keep the board's identity, certificates, fused boot key and lock in this `file` (default: in memory)")
	uid := fs.String("uid", "", "the board's factory unique id in `hex` (default: random, kept in --provisioning)")
	fs.StringVar(&cfg.Provisioning.Model, "model", sim.DefaultModel, "the hardware model the board reports")
	fs.StringVar(&cfg.Provisioning.Rev, "rev", sim.DefaultRev, "the hardware revision the board reports")
	fs.Var(&bootKeys, "boot-key", "trust this signing key (public key `PEM`); repeat for more (default: none, any image with a valid hash boots)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: boardsim [--pty] [--ws host:port] [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if !*usePTY && *wsAddr == "" {
		return errors.New("nothing to serve: give --pty, --ws host:port, or both")
	}
	switch *chip {
	case "":
	case "esp32c3", "esp32s3":
		c, _ := espimg.ParseChip(*chip)
		return runESP(ctx, espOptions{chip: c, baud: cfg.Baud, pty: *usePTY, ws: *wsAddr, flashSize: *espFlash,
			usbJTAG: *espUSB, run: *espRun, verbose: *verbose}, out)
	default:
		return fmt.Errorf("--chip %q: esp32c3 and esp32s3 are simulated", *chip)
	}
	for _, path := range bootKeys {
		k, err := readKey(path, keys.ParsePublicKey)
		if err != nil {
			return err
		}
		cfg.BootKeys = append(cfg.BootKeys, k)
	}
	if *encKey != "" {
		k, err := readKey(*encKey, keys.ParsePrivateKey)
		if err != nil {
			return err
		}
		cfg.EncKey = k
	}
	if *verbose {
		cfg.Log = os.Stderr
	}
	if *uid != "" {
		id, err := hex.DecodeString(*uid)
		if err != nil {
			return fmt.Errorf("--uid: %q is not hex", *uid)
		}
		cfg.Provisioning.UID = id
	}

	b, err := sim.New(cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	if *program != "" {
		img, err := os.ReadFile(*program)
		if err != nil {
			return err
		}
		if err := b.Program(img); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		on bool
		f  sim.Fault
	}{
		{*dropAfter >= 0, sim.Fault{Kind: sim.DropLink, After: *dropAfter, For: *linkDown}},
		{*cutAfter >= 0, sim.Fault{Kind: sim.CutPower, After: *cutAfter, For: *powerOff}},
		{*corruptReq > 0, sim.Fault{Kind: sim.CorruptRequest, Nth: *corruptReq}},
		{*corruptAns > 0, sim.Fault{Kind: sim.CorruptAnswer, Nth: *corruptAns}},
		{*slow > 0, sim.Fault{Kind: sim.SlowAnswers, For: *slow}},
	} {
		if f.on {
			if err := b.Inject(f.f); err != nil {
				return err
			}
		}
	}
	banner(out, b)

	errc := make(chan error, 2)
	if *usePTY {
		p, err := sim.OpenPTY()
		if err != nil {
			return err
		}
		defer p.Close()
		fmt.Fprintf(out, "boardsim: serial on %s\n", p.Path())
		go func() { errc <- b.Serve(ctx, p) }()
	}
	if *wsAddr != "" {
		ln, err := net.Listen("tcp", *wsAddr)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/serial", sim.NewHandler(b))
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

func readKey[K any](path string, parse func([]byte) (K, error)) (K, error) {
	var zero K
	data, err := os.ReadFile(path)
	if err != nil {
		return zero, err
	}
	k, err := parse(data)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func banner(out io.Writer, b *sim.Board) {
	cfg := b.Config()
	fmt.Fprintf(out, "boardsim: %d KiB slots, %d-byte writes, %d-byte SMP buffers x%d, %s\n",
		cfg.SlotSize>>10, cfg.Align, cfg.BufSize, cfg.BufCount, baudString(cfg.Baud))
	if len(cfg.BootKeys) == 0 {
		fmt.Fprintln(out, "boardsim: !!! NO BOOT KEY PROVISIONED: this board boots ANY image whose hash is valid,")
		fmt.Fprintln(out, "boardsim: !!! like an unprovisioned development board. Give --boot-key to enforce signatures.")
	} else {
		for _, k := range cfg.BootKeys {
			fmt.Fprintf(out, "boardsim: trusts %s\n", k)
		}
	}
	if cfg.EncKey == nil {
		fmt.Fprintln(out, "boardsim: no decryption key: encrypted images will not boot")
	}
	if cfg.FlashFile == "" {
		fmt.Fprintln(out, "boardsim: flash in memory: it is lost when boardsim exits (give --flash FILE to keep it)")
	}
	r := b.Running()
	if r.Recovery {
		fmt.Fprintln(out, "boardsim: no valid image in the primary slot: answering as MCUboot serial recovery")
	} else {
		fmt.Fprintf(out, "boardsim: running %s (hash %x)\n", r.Version, r.Hash)
	}
}

func baudString(baud int) string {
	if baud == 0 {
		return "unpaced UART"
	}
	return fmt.Sprintf("%d baud", baud)
}
