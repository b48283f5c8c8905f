package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"

	"trustforge/crypto/bundle"
	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
	"trustforge/devices/serial"
	"trustforge/devices/smp"
)

var espPortOpts = []optSpec{
	{long: "port", short: "p", kind: optValue, metavar: "PATH", help: "serial port, pty or ws:// URL of the board (required; nothing is opened by default)"},
	{long: "baud", short: "b", kind: optValue, metavar: "N", help: "switch to this speed with CHANGE_BAUDRATE after connecting (default: stay at 115200)"},
	{long: "before", kind: optValue, metavar: "RESET", help: "how to enter the bootloader: default_reset (DTR/RTS), usb_reset (USB-Serial-JTAG) or no_reset"},
	{long: "verbose", kind: optBool, help: "log each step to stderr"},
}

// espPort adapts a host serial port to the ROM loader client: a context on
// reads and writes, and the modem lines and speed when it has them.
type espPort struct {
	smp.Transport
	p     *serial.Port
	lines bool
}

func (e *espPort) SetLines(_ context.Context, dtr, rts bool) error { return e.p.SetLines(dtr, rts) }
func (e *espPort) SetBaud(_ context.Context, baud int) error       { return e.p.SetBaud(baud) }

// noLines hides SetLines for ports without modem lines (ptys).
type noLines struct {
	smp.Transport
	p *serial.Port
}

func (n noLines) SetBaud(_ context.Context, baud int) error { return n.p.SetBaud(baud) }

// espSession is a connected ROM loader.
type espSession struct {
	c     *esprom.Client
	ci    *esprom.ChipInfo
	close func()
}

func openESP(ctx context.Context, env Env, o *optSet) (*espSession, error) {
	path, err := o.require("port")
	if err != nil {
		return nil, err
	}
	baud, err := o.integer("baud", 115200, 5_000_000)
	if err != nil {
		return nil, err
	}
	mode := esprom.ResetClassic
	switch o.str("before") {
	case "", "default_reset":
	case "usb_reset":
		mode = esprom.ResetUSBJTAG
	case "no_reset":
		mode = esprom.ResetNone
	default:
		return nil, usageErrorf("--before %q: default_reset, usb_reset or no_reset", o.str("before"))
	}
	var t esprom.Transport
	var closer func()
	if strings.HasPrefix(path, "ws://") || strings.HasPrefix(path, "wss://") {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(dctx, path, nil)
		if err != nil {
			return nil, fmt.Errorf("esp: %w", err)
		}
		ws.SetReadLimit(1 << 20)
		tr := smp.FromStream(websocket.NetConn(context.Background(), ws, websocket.MessageBinary))
		t, closer = tr, func() { tr.Close() }
	} else {
		p, err := serial.OpenPort(path, 115200)
		if err != nil {
			return nil, fmt.Errorf("esp: %w", err)
		}
		tr := smp.FromStream(p)
		closer = func() { tr.Close() }
		if p.SetLines(false, false) == nil {
			t = &espPort{Transport: tr, p: p, lines: true}
		} else {
			t = noLines{Transport: tr, p: p}
		}
	}
	opts := esprom.Options{}
	if o.flag("verbose") {
		opts.Log = env.Stderr
	}
	c := esprom.New(t, opts)
	s := &espSession{c: c, close: func() { c.Close(); closer() }}
	ci, err := c.Connect(ctx, mode)
	if err != nil {
		s.close()
		return nil, err
	}
	s.ci = ci
	if baud != 115200 {
		if err := c.ChangeBaud(ctx, int(baud)); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

func runESPInfo(ctx context.Context, env Env, args []string) error {
	o, err := parseOpts(env, "esp info --port PATH", espPortOpts, args)
	if err != nil {
		return err
	}
	if _, err := o.positionals(0, "no arguments"); err != nil {
		return err
	}
	s, err := openESP(ctx, env, o)
	if err != nil {
		return err
	}
	defer s.close()
	printChip(env, s.ci)
	return nil
}

func printChip(env Env, ci *esprom.ChipInfo) {
	w := env.Stdout
	fmt.Fprintf(w, "chip             %v revision %v\n", ci.Chip, ci.Revision)
	if ci.MAC != nil {
		fmt.Fprintf(w, "MAC              %v\n", ci.MAC)
	}
	if ci.FlashSize > 0 {
		fmt.Fprintf(w, "flash            %d MB (JEDEC id %06x)\n", ci.FlashSize>>20, ci.FlashID)
	}
	fmt.Fprintf(w, "secure boot      %v\n", onOffStr(ci.SecureBoot))
	fmt.Fprintf(w, "flash encryption %v\n", onOffStr(ci.FlashEncrypted))
	fmt.Fprintf(w, "secure download  %v\n", onOffStr(ci.SecureDownload))
}

func onOffStr(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func runESPFlash(ctx context.Context, env Env, args []string) error {
	specs := append([]optSpec{
		{long: "no-compress", short: "u", kind: optBool, help: "send plain FLASH_DATA instead of deflate-compressed data"},
		{long: "no-verify", kind: optBool, help: "skip the SPI_FLASH_MD5 check"},
		{long: "encrypt", kind: optBool, help: "ask the ROM to encrypt with the burned flash encryption key as it writes"},
		{long: "after", kind: optValue, metavar: "RESET", help: "hard_reset (default: reboot into the new firmware) or no_reset"},
		{long: "release", kind: optValue, metavar: "REL.tfb", help: "flash this flash-set release instead of ADDR FILE pairs"},
		{long: "trusted", short: "t", kind: optValue, multi: true, metavar: "PUB.pem", help: "with --release: a release-signing public key to trust; repeatable"},
		{long: "identity", short: "i", kind: optValue, multi: true, metavar: "KEY.txt", help: "with --release: an age identity file that opens it; repeatable"},
		{long: "fe-key", kind: optValue, metavar: "KEY.bin", help: "with --release: the board's flash encryption key, to encrypt the parts marked for it"},
		{long: "rom-encrypt", kind: optBool, help: "with --release: have the ROM encrypt the marked parts with the burned key"},
	}, espPortOpts...)
	o, err := parseOpts(env, "esp flash --port PATH [options] (ADDR FILE [ADDR FILE …] | --release REL.tfb -t PUB.pem -i ID.txt)", specs, args)
	if err != nil {
		return err
	}
	var parts []esprom.Part
	if o.has("release") {
		if len(o.args) > 0 {
			return usageErrorf("give --release or ADDR FILE pairs, not both")
		}
		var feKey []byte
		if o.has("fe-key") {
			if feKey, err = os.ReadFile(o.str("fe-key")); err != nil {
				return err
			}
		}
		var m *bundle.Manifest
		parts, m, err = releaseParts(ctx, o.str("release"), o.list("trusted"), o.list("identity"), feKey, o.flag("rom-encrypt"))
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "release %s %s (%s): %d parts\n", m.Product, m.Version, m.Channel, len(m.Parts))
	} else if len(o.args) == 0 || len(o.args)%2 != 0 {
		return usageErrorf("give pairs of ADDR FILE, or --release")
	}
	for i := 0; i < len(o.args); i += 2 {
		addr, err := parseInteger(o.args[i], 1<<32-1)
		if err != nil {
			return usageErrorf("address %q: %v", o.args[i], err)
		}
		data, err := os.ReadFile(o.args[i+1])
		if err != nil {
			return err
		}
		parts = append(parts, esprom.Part{Name: o.args[i+1], Offset: uint32(addr), Data: data, Encrypt: o.flag("encrypt")})
	}
	s, err := openESP(ctx, env, o)
	if err != nil {
		return err
	}
	defer s.close()
	printChip(env, s.ci)
	last := ""
	res, err := s.c.Flash(ctx, s.ci, parts, esprom.FlashOptions{
		Uncompressed: o.flag("no-compress"), NoVerify: o.flag("no-verify"),
		Progress: func(part string, done, total int) {
			if part != last || done == total {
				fmt.Fprintf(env.Stderr, "writing %s: %d of %d bytes\n", part, done, total)
				last = part
			}
		}})
	if err != nil {
		return err
	}
	verified := "verified with MD5"
	if !res.Verified {
		verified = "not verified"
	}
	fmt.Fprintf(env.Stdout, "wrote %d bytes (%d sent) in %v, %s\n", res.Written, res.Sent, res.Duration.Round(time.Millisecond), verified)
	if o.str("after") == "no_reset" {
		return s.c.FlashEnd(ctx, false)
	}
	return s.c.FlashEnd(ctx, true)
}

func runESPReadEfuse(ctx context.Context, env Env, args []string) error {
	o, err := parseOpts(env, "esp read-efuse --port PATH", espPortOpts, args)
	if err != nil {
		return err
	}
	if _, err := o.positionals(0, "no arguments"); err != nil {
		return err
	}
	s, err := openESP(ctx, env, o)
	if err != nil {
		return err
	}
	defer s.close()
	ef, err := s.c.ReadEfuses(ctx)
	if err != nil {
		return err
	}
	fmt.Fprint(env.Stdout, ef.Summary())
	return nil
}

var espConfirmOpt = optSpec{long: "yes", kind: optBool, help: "burn: without it the step is only shown"}

// espBurn shows a step and, with --yes, burns it.
func espBurn(ctx context.Context, env Env, o *optSet, s *espSession, b *esprom.Burn) error {
	fmt.Fprintf(env.Stdout, "step: %s\n", b.What)
	for _, c := range b.Changes {
		fmt.Fprintf(env.Stdout, "  %s\n", c)
	}
	fmt.Fprintln(env.Stdout, "eFuses only change from 0 to 1: this cannot be undone.")
	if !o.flag("yes") {
		return fmt.Errorf("nothing burned: run again with --yes to burn these eFuses")
	}
	if err := s.c.BurnEfuses(ctx, b); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "burned.")
	return nil
}

func runESPBurnKey(ctx context.Context, env Env, args []string) error {
	specs := append([]optSpec{espConfirmOpt,
		{long: "purpose", kind: optValue, metavar: "P", help: "secure_boot_digest (KEYFILE is a signing key or its public key, PEM) or xts_aes_128_key (KEYFILE holds 32 raw bytes)"},
	}, espPortOpts...)
	o, err := parseOpts(env, "esp burn-key --port PATH --purpose P KEYFILE [--yes]", specs, args)
	if err != nil {
		return err
	}
	pos, err := o.positionals(1, "the key file")
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	var purpose esprom.KeyPurpose
	var key []byte
	readProtect := false
	switch o.str("purpose") {
	case "secure_boot_digest", "secure_boot_digest0", "secure_boot_digest1", "secure_boot_digest2":
		purpose = esprom.PurposeSecureBootDigest
		if n := strings.TrimPrefix(o.str("purpose"), "secure_boot_digest"); n != "" {
			purpose += esprom.KeyPurpose(n[0] - '0')
		}
		pub, err := espimg.ParsePublicKey(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		d, err := espimg.KeyDigest(pub)
		if err != nil {
			return err
		}
		key = d[:]
	case "xts_aes_128_key":
		purpose, key, readProtect = esprom.PurposeXTSAES128, raw, true
	default:
		return usageErrorf("--purpose: secure_boot_digest[0-2] or xts_aes_128_key")
	}
	s, err := openESP(ctx, env, o)
	if err != nil {
		return err
	}
	defer s.close()
	ef, err := s.c.ReadEfuses(ctx)
	if err != nil {
		return err
	}
	b, err := esprom.PlanKey(ef, purpose, key, readProtect)
	if err != nil {
		return err
	}
	return espBurn(ctx, env, o, s, b)
}

func runESPEnableSecureBoot(ctx context.Context, env Env, args []string) error {
	return espEnable(ctx, env, args, "esp enable-secure-boot --port PATH [--yes]", func(ef *esprom.Efuses) (*esprom.Burn, error) {
		return esprom.PlanSecureBoot(ef)
	})
}

func runESPEnableFlashEncryption(ctx context.Context, env Env, args []string) error {
	return espEnable(ctx, env, args, "esp enable-flash-encryption --port PATH [--yes]", func(ef *esprom.Efuses) (*esprom.Burn, error) {
		return esprom.PlanFlashEncryption(ef, false)
	})
}

func espEnable(ctx context.Context, env Env, args []string, synopsis string, plan func(*esprom.Efuses) (*esprom.Burn, error)) error {
	o, err := parseOpts(env, synopsis, append([]optSpec{espConfirmOpt}, espPortOpts...), args)
	if err != nil {
		return err
	}
	if _, err := o.positionals(0, "no arguments"); err != nil {
		return err
	}
	s, err := openESP(ctx, env, o)
	if err != nil {
		return err
	}
	defer s.close()
	ef, err := s.c.ReadEfuses(ctx)
	if err != nil {
		return err
	}
	b, err := plan(ef)
	if err != nil {
		return err
	}
	return espBurn(ctx, env, o, s, b)
}
