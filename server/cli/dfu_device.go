package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"trustforge/devices/dfu"
	"trustforge/devices/dfu/usbfs"
)

// usbfsBackend reaches DFU devices through Linux usbfs.
type usbfsBackend struct{ bus usbfs.Bus }

func (b usbfsBackend) list(ctx context.Context) ([]string, error) {
	devs, err := b.bus.List()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range devs {
		out = append(out, d.String())
	}
	return out, nil
}

func (b usbfsBackend) open(ctx context.Context, sel string) (dfu.Control, dfu.Finder, error) {
	devs, err := b.bus.List()
	if err != nil {
		return nil, nil, err
	}
	var match []usbfs.Device
	for _, d := range devs {
		if sel == "" || sel == d.Port || sel == d.Path || strings.EqualFold(sel, fmt.Sprintf("%04x:%04x", d.VendorID, d.ProductID)) {
			match = append(match, d)
		}
	}
	switch {
	case len(match) == 0 && sel == "":
		return nil, nil, errNoDevice
	case len(match) == 0:
		return nil, nil, fmt.Errorf("no DFU device matches %q (trustforge dfu list)", sel)
	case len(match) > 1:
		return nil, nil, fmt.Errorf("%d DFU devices match; choose one with --device PORT", len(match))
	}
	d := match[0]
	c, err := usbfs.Open(d.Path)
	if err != nil {
		return nil, nil, err
	}
	find := func(ctx context.Context) (dfu.Control, error) {
		nd, err := b.bus.Find(d.Port)
		if err != nil {
			return nil, err
		}
		return usbfs.Open(nd.Path)
	}
	return c, find, nil
}

// pickAlt returns the DFU-mode alternate setting named or numbered by
// spec, or the first one when spec is empty.
func pickAlt(desc *dfu.Description, spec string) (dfu.AltSetting, error) {
	var names []string
	for _, a := range desc.DFU() {
		if a.Runtime() {
			continue
		}
		if spec == "" || spec == a.Name || spec == strconv.Itoa(int(a.Alternate)) {
			return a, nil
		}
		names = append(names, fmt.Sprintf("%d %q", a.Alternate, a.Name))
	}
	return dfu.AltSetting{}, fmt.Errorf("no alternate setting %q; the device has %s", spec, strings.Join(names, ", "))
}

// optionBytesAlt returns the DfuSe option bytes alternate setting.
func optionBytesAlt(desc *dfu.Description) (dfu.AltSetting, error) {
	for _, a := range desc.DFU() {
		if l, err := a.Layout(); err == nil && strings.Contains(strings.ToLower(l.Name), "option bytes") {
			return a, nil
		}
	}
	return dfu.AltSetting{}, fmt.Errorf("the device has no DfuSe option bytes memory (is it an STM32 system bootloader?)")
}

// dfuProgress prints a line at every tenth of each stage.
func dfuProgress(w io.Writer, on bool) func(dfu.AltSetting, dfu.Stage, int64, int64) {
	last := map[string]int64{}
	return func(a dfu.AltSetting, st dfu.Stage, done, total int64) {
		if !on || total == 0 {
			return
		}
		key := a.Name + string(st)
		step := done * 10 / total
		if s, ok := last[key]; ok && s == step {
			return
		}
		last[key] = step
		fmt.Fprintf(w, "%s %s: %3d%% (%d of %d bytes)\n", st, a.Name, done*100/total, done, total)
	}
}

func dfuDeviceCommand(ctx context.Context, env Env, o *optSet, be dfuBackend, cmd string) error {
	var file string
	switch cmd {
	case "download":
		args, err := o.positionals(1, "FILE")
		if err != nil {
			return err
		}
		file = args[0]
	default:
		if _, err := o.positionals(0, "no arguments"); err != nil {
			return err
		}
	}
	if cmd == "rdp" && o.has("set") && !o.flag("yes") {
		return usageErrorf("setting read-out protection cannot be undone without erasing the whole flash; add --yes to confirm")
	}
	ctl, find, err := be.open(ctx, o.str("device"))
	if err != nil {
		return err
	}
	closeCtl := func(c dfu.Control) {
		if cl, ok := c.(dfu.Closer); ok {
			cl.Close()
		}
	}
	if cmd == "detach" {
		defer closeCtl(ctl)
		desc, err := dfu.Describe(ctx, ctl)
		if err != nil {
			return err
		}
		if desc.Mode() != "runtime" {
			fmt.Fprintln(env.Stdout, "the device is in DFU mode already")
			return nil
		}
		for _, a := range desc.DFU() {
			d, err := dfu.Open(ctx, ctl, a)
			if err != nil {
				return err
			}
			if err := d.Detach(ctx); err != nil {
				return err
			}
			fmt.Fprintln(env.Stdout, "detached: the device re-enumerates in DFU mode")
			return nil
		}
	}
	ctl, desc, err := dfu.EnterDFU(ctx, ctl, find)
	if err != nil {
		return err
	}
	defer func() { closeCtl(ctl) }()
	opts := dfu.WriteOptions{NoVerify: o.flag("no-verify"), Progress: dfuProgress(env.Stderr, !o.flag("no-progress"))}
	switch cmd {
	case "download":
		return dfuDownload(ctx, env, o, ctl, desc, file, opts)
	case "upload":
		return dfuUpload(ctx, env, o, ctl, desc)
	case "rdp":
		a, err := optionBytesAlt(desc)
		if err != nil {
			return err
		}
		d, err := dfu.Open(ctx, ctl, a)
		if err != nil {
			return err
		}
		if !o.has("set") {
			lvl, err := d.ReadRDP(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%v\n", lvl)
			return nil
		}
		n, err := o.integer("set", 0, 2)
		if err != nil {
			return err
		}
		if err := d.SetRDP(ctx, dfu.RDPLevel(n)); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "read-out protection set to %v; the part resets to apply it\n", dfu.RDPLevel(n))
		return nil
	}
	return nil
}

func dfuDownload(ctx context.Context, env Env, o *optSet, ctl dfu.Control, desc *dfu.Description, file string, opts dfu.WriteOptions) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if f, err := dfu.ParseFile(data); err == nil {
		if f.VendorID != dfu.AnyID && f.VendorID != desc.VendorID || f.ProductID != dfu.AnyID && f.ProductID != desc.ProductID {
			return fmt.Errorf("%s is for device %04x:%04x, this one is %04x:%04x", file, f.VendorID, f.ProductID, desc.VendorID, desc.ProductID)
		}
		if f.DfuSe() {
			if o.has("address") {
				return usageErrorf("a DfuSe file carries its addresses; drop --address")
			}
			if err := dfu.WriteDfuSe(ctx, ctl, desc, f, opts); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "wrote %s (%d target(s))\n", file, len(f.Targets))
			return dfuAfter(ctx, env, o, ctl, desc, f.Targets[0].Elements)
		}
		data = f.Payload
	}
	a, err := pickAlt(desc, o.str("alt"))
	if err != nil {
		return err
	}
	if a.Functional != nil && a.Functional.DfuSe() {
		l, err := a.Layout()
		if err != nil {
			return err
		}
		addr, err := o.integer("address", int64(l.Sectors[0].Addr), 1<<32-1)
		if err != nil {
			return err
		}
		els, err := dfu.LoadImage(data, uint32(addr))
		if err != nil {
			return err
		}
		if err := dfu.WriteElements(ctx, ctl, a, els, opts); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "wrote %d bytes to %s at 0x%08x%s\n", len(data), l.Name, els[0].Address, verified(opts, a))
		return dfuAfter(ctx, env, o, ctl, desc, els)
	}
	if o.has("address") {
		return usageErrorf("--address is for DfuSe devices; this one writes whole images per alternate setting")
	}
	if err := dfu.WriteSlot(ctx, ctl, a, data, opts); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote %d bytes to %s%s\n", len(data), a.Name, verified(opts, a))
	return dfuAfter(ctx, env, o, ctl, desc, nil)
}

func verified(opts dfu.WriteOptions, a dfu.AltSetting) string {
	if opts.NoVerify || a.Functional == nil || !a.Functional.CanUpload {
		return ""
	}
	return ", read back and compared"
}

// dfuAfter leaves DFU mode or resets, as asked.
func dfuAfter(ctx context.Context, env Env, o *optSet, ctl dfu.Control, desc *dfu.Description, els []dfu.Element) error {
	switch {
	case o.flag("leave"):
		a, err := pickAlt(desc, "")
		if err != nil {
			return err
		}
		d, err := dfu.Open(ctx, ctl, a)
		if err != nil {
			return err
		}
		l, err := d.Layout()
		if err != nil {
			return fmt.Errorf("--leave is for DfuSe devices: %w", err)
		}
		addr := l.Sectors[0].Addr
		if len(els) > 0 {
			addr = els[0].Address
		}
		if err := d.Leave(ctx, addr); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "left DFU mode: the application at 0x%08x starts\n", addr)
	case o.flag("reset"):
		r, ok := ctl.(dfu.Resetter)
		if !ok {
			return fmt.Errorf("this connection cannot reset the device; unplug and replug it")
		}
		if err := r.Reset(ctx); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "reset: the device restarts (an MCUboot board test-boots a new slot-1 image)")
	}
	return nil
}

func dfuUpload(ctx context.Context, env Env, o *optSet, ctl dfu.Control, desc *dfu.Description) error {
	out, err := o.require("output")
	if err != nil {
		return err
	}
	a, err := pickAlt(desc, o.str("alt"))
	if err != nil {
		return err
	}
	d, err := dfu.Open(ctx, ctl, a)
	if err != nil {
		return err
	}
	var data []byte
	if l, lerr := d.Layout(); lerr == nil {
		addr, err := o.integer("address", int64(l.Sectors[0].Addr), 1<<32-1)
		if err != nil {
			return err
		}
		end := int64(l.Sectors[0].Addr) + int64(l.Size())
		n, err := o.integer("length", end-addr, 1<<30)
		if err != nil {
			return err
		}
		if data, err = d.UploadAt(ctx, uint32(addr), int(n), nil); err != nil {
			return err
		}
	} else {
		n, err := o.integer("length", 0, 1<<30)
		if err != nil {
			return err
		}
		if data, err = d.Upload(ctx, int(n), nil); err != nil {
			return err
		}
	}
	if err := writeOutput(out, 0o644, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "read %d bytes from %s into %s\n", len(data), a.Name, out)
	return nil
}
