package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"trustforge/devices/dfu"
)

const dfuSynopsis = `dfu COMMAND [options] [args]

commands:
  pack -o OUT.dfu [--vid V --pid P] [--alt N] ADDRESS:FILE…
                      make a DfuSe .dfu file; FILE is raw (at ADDRESS) or
                      Intel HEX (its own addresses; ADDRESS: may be left out)
  pack --plain -o OUT.dfu [--vid V --pid P] FILE
                      add a DFU suffix to a firmware file, as dfu-suffix -a
  inspect FILE.dfu    check a .dfu file's suffix CRC and list its contents
  list                the USB devices with a DFU interface
  download [--device SEL] [--alt N|NAME] [--address A] FILE
                      write FILE: a DfuSe .dfu file to its targets, a raw or
                      HEX file at --address (DfuSe) or into the alternate
                      setting (plain DFU, e.g. a Zephyr slot: --alt image-1);
                      read back and compared when the device allows
  upload [--device SEL] [--alt N|NAME] [--address A --length N] -o OUT
                      read memory (DfuSe) or the alternate setting's image
  detach [--device SEL]
                      send a run-time device DFU_DETACH (it re-enumerates
                      in DFU mode)
  rdp [--device SEL] [--set LEVEL --yes]
                      read an STM32's read-out protection level, or set it

SEL is VID:PID (hex), a usbfs port such as 1-4.2, or /dev/bus/usb/BBB/DDD;
without --device the one DFU device present is used. Devices in run-time
mode are detached into DFU mode first.`

var dfuOpts = []optSpec{
	{long: "output", short: "o", kind: optValue, metavar: "FILE", help: "pack, upload: the file to write"},
	{long: "vid", kind: optValue, metavar: "V", help: "pack: the suffix's vendor ID (default 0x0483, or 0xffff with --plain)"},
	{long: "pid", kind: optValue, metavar: "P", help: "pack: the suffix's product ID (default 0xdf11, or 0xffff with --plain)"},
	{long: "bcd", kind: optValue, metavar: "D", help: "pack: the suffix's device release (default 0xffff: any)"},
	{long: "name", kind: optValue, metavar: "NAME", help: "pack: the target's name (default ST...)"},
	{long: "plain", kind: optBool, help: "pack: a plain DFU 1.1 file (firmware and suffix), not DfuSe"},
	{long: "device", short: "d", kind: optValue, metavar: "SEL", help: "the device: VID:PID, a usbfs port, or a device node"},
	{long: "alt", short: "a", kind: optValue, metavar: "N|NAME", help: "the alternate setting, by number or name (default 0; pack: the target's)"},
	{long: "address", short: "s", kind: optValue, metavar: "A", help: "download, upload: the DfuSe address (default: the memory's start)"},
	{long: "length", kind: optValue, metavar: "N", help: "upload: bytes to read (default: the whole memory or image)"},
	{long: "no-verify", kind: optBool, help: "download: do not read back and compare"},
	{long: "leave", kind: optBool, help: "download: DfuSe devices leave DFU mode and start the application"},
	{long: "reset", kind: optBool, help: "download: reset the device afterwards (a Zephyr board then test-boots the new slot)"},
	{long: "set", kind: optValue, metavar: "LEVEL", help: "rdp: set read-out protection to 0 (erases the flash) or 1"},
	{long: "yes", kind: optBool, help: "rdp --set: confirm; it cannot be undone without erasing the whole flash"},
	{long: "no-progress", kind: optBool, help: "no progress on stderr"},
}

// dfuBackend reaches DFU devices: usbfs on Linux, the simulator in tests.
type dfuBackend interface {
	// list describes the DFU devices present, one line each.
	list(ctx context.Context) ([]string, error)
	// open opens the device sel selects ("" when only one is present) and
	// returns a finder for it after it re-enumerates.
	open(ctx context.Context, sel string) (dfu.Control, dfu.Finder, error)
}

// runDFU implements `trustforge dfu`.
func runDFU(ctx context.Context, env Env, args []string) error {
	return runDFUWith(ctx, env, args, usbfsBackend{})
}

func runDFUWith(ctx context.Context, env Env, args []string, be dfuBackend) error {
	o, err := parseOpts(env, dfuSynopsis, dfuOpts, args)
	if err != nil {
		return err
	}
	if len(o.args) == 0 {
		printOptUsage(env.Stderr, dfuSynopsis, dfuOpts)
		return usageErrorf("no command")
	}
	cmd := o.args[0]
	o.args = o.args[1:]
	switch cmd {
	case "pack":
		return dfuPack(env, o)
	case "inspect":
		return dfuInspect(env, o)
	case "list":
		lines, err := be.list(ctx)
		if err != nil {
			return err
		}
		if len(lines) == 0 {
			fmt.Fprintln(env.Stdout, "no DFU devices")
		}
		for _, l := range lines {
			fmt.Fprintln(env.Stdout, l)
		}
		return nil
	case "download", "upload", "detach", "rdp":
		return dfuDeviceCommand(ctx, env, o, be, cmd)
	}
	return usageErrorf("unknown dfu command %q (see -h)", cmd)
}

func hexID(o *optSet, name string, def uint16) (uint16, error) {
	if !o.has(name) {
		return def, nil
	}
	s := strings.TrimPrefix(strings.ToLower(o.str(name)), "0x")
	n, err := strconv.ParseUint(s, 16, 16)
	if err != nil {
		return 0, usageErrorf("--%s %q is not a 16-bit hex number", name, o.str(name))
	}
	return uint16(n), nil
}

// dfuPack implements `dfu pack`.
func dfuPack(env Env, o *optSet) error {
	out, err := o.require("output")
	if err != nil {
		return err
	}
	if len(o.args) == 0 {
		return usageErrorf("pack wants at least one ADDRESS:FILE")
	}
	plain := o.flag("plain")
	defVID, defPID := uint16(0x0483), uint16(0xdf11)
	if plain {
		defVID, defPID = dfu.AnyID, dfu.AnyID
	}
	f := &dfu.File{}
	if f.VendorID, err = hexID(o, "vid", defVID); err != nil {
		return err
	}
	if f.ProductID, err = hexID(o, "pid", defPID); err != nil {
		return err
	}
	if f.Device, err = hexID(o, "bcd", dfu.AnyID); err != nil {
		return err
	}
	if plain {
		if len(o.args) != 1 {
			return usageErrorf("pack --plain takes one FILE")
		}
		data, err := os.ReadFile(o.args[0])
		if err != nil {
			return err
		}
		f.DFUVersion, f.Payload = dfu.Version10, data
	} else {
		alt, err := o.integer("alt", 0, 255)
		if err != nil {
			return err
		}
		name := "ST..."
		if o.has("name") {
			name = o.str("name")
		}
		t := dfu.Target{Alternate: uint8(alt), Name: name, Named: true}
		for _, arg := range o.args {
			els, err := loadAddressed(arg)
			if err != nil {
				return err
			}
			t.Elements = append(t.Elements, els...)
		}
		if err := dfu.SortElements(t.Elements); err != nil {
			return err
		}
		f.Targets = []dfu.Target{t}
	}
	b, err := f.Bytes()
	if err != nil {
		return err
	}
	if err := writeOutput(out, 0o644, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote %s: %d bytes, CRC %#08x\n", out, len(b), uint32(b[len(b)-4])|uint32(b[len(b)-3])<<8|uint32(b[len(b)-2])<<16|uint32(b[len(b)-1])<<24)
	return nil
}

// loadAddressed reads "ADDRESS:FILE", or "FILE" for an Intel HEX file.
func loadAddressed(arg string) ([]dfu.Element, error) {
	addr, path := uint64(0), arg
	if a, p, ok := strings.Cut(arg, ":"); ok && !strings.Contains(a, string(filepath.Separator)) {
		n, err := strconv.ParseUint(strings.ReplaceAll(a, "_", ""), 0, 32)
		if err != nil {
			return nil, usageErrorf("%q: the address %q is not a number (use 0x for hex)", arg, a)
		}
		addr, path = n, p
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	hex := len(data) > 0 && data[0] == ':'
	if !hex && addr == 0 && !strings.Contains(arg, ":") {
		return nil, usageErrorf("%q: a raw file needs an address: ADDRESS:FILE", arg)
	}
	els, err := dfu.LoadImage(data, uint32(addr))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return els, nil
}

// dfuInspect implements `dfu inspect`.
func dfuInspect(env Env, o *optSet) error {
	args, err := o.positionals(1, "FILE.dfu")
	if err != nil {
		return err
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	f, err := dfu.ParseFile(b)
	if err != nil {
		return err
	}
	w := env.Stdout
	kind := "plain DFU"
	if f.DfuSe() {
		kind = "DfuSe"
	}
	fmt.Fprintf(w, "%s file, %d bytes, suffix CRC ok\n", kind, len(b))
	fmt.Fprintf(w, "  for device %04x:%04x release %04x, bcdDFU %04x\n", f.VendorID, f.ProductID, f.Device, f.DFUVersion)
	if !f.DfuSe() {
		fmt.Fprintf(w, "  firmware: %d bytes\n", len(f.Payload))
		return nil
	}
	for _, t := range f.Targets {
		name := "(unnamed)"
		if t.Named {
			name = strconv.Quote(t.Name)
		}
		fmt.Fprintf(w, "  target alt %d %s: %d element(s)\n", t.Alternate, name, len(t.Elements))
		for _, e := range t.Elements {
			fmt.Fprintf(w, "    0x%08x–0x%08x  %d bytes\n", e.Address, e.End(), len(e.Data))
		}
	}
	return nil
}

var errNoDevice = errors.New("no DFU device found (trustforge dfu list)")
