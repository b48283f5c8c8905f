package updateflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"trustforge/crypto/mcuimg"
	"trustforge/devices/dfu"
	"trustforge/devices/fwupdate"
	"trustforge/devices/smp"
	"trustforge/internal/usererr"
)

// ErrProtected reports an STM32 whose read-out protection stops its
// bootloader from reading and writing the flash. It comes wrapped in a
// *fwupdate.Refusal.
var ErrProtected = usererr.New("updateflow", "the part's read-out protection is on")

// ErrNoOptionBytes reports a part whose read-out protection is to be set
// but whose bootloader lists no option bytes memory. It comes wrapped in a
// *fwupdate.Refusal.
var ErrNoOptionBytes = usererr.New("updateflow", "the part's bootloader lists no option bytes")

// DfuSe is an STM32's system bootloader (ST's DfuSe): the image is written
// raw at its address in the internal flash (erasing the sectors it covers),
// read back and compared, and the bootloader then starts the application.
// The bootloader lives in ROM: a write cut by an unplug leaves the part
// able to enter it again, and the write starts again once it is back.
type DfuSe struct {
	// Link reaches the part; only its DFU method is used. Required.
	Link DFULink
	// Address is where the image goes; zero means the start of the first
	// flash memory the bootloader lists (0x08000000 on STM32s).
	Address uint32
	// Protecting says Protect follows the write: Check then refuses a
	// part whose bootloader lists no option bytes memory, before anything
	// is written.
	Protecting bool

	ctl  dfu.Control
	alt  dfu.AltSetting
	addr uint32
}

var _ Kind = (*DfuSe)(nil)

// Steps: write, then start the application. The bootloader has no test
// boot and nothing to confirm.
func (k *DfuSe) Steps() []Step { return []Step{StepUpload, StepTestBoot} }

// target picks the flash memory and the address, and checks the image fits
// in writable sectors.
func (k *DfuSe) target(desc *dfu.Description, n int) (dfu.AltSetting, uint32, error) {
	for _, a := range desc.DFU() {
		if a.Runtime() || a.Functional == nil || !a.Functional.DfuSe() {
			continue
		}
		l, err := a.Layout()
		if err != nil || strings.Contains(strings.ToLower(l.Name), "option bytes") || len(l.Sectors) == 0 {
			continue
		}
		addr := k.Address
		if addr == 0 {
			addr = l.Sectors[0].Addr
		}
		secs, err := l.Covering(addr, n)
		if err != nil {
			if k.Address != 0 {
				continue // another memory may hold the address
			}
			return a, addr, usererr.Errorf("updateflow", "%d bytes at %#08x do not fit in %s (%d bytes): %w", n, addr, l.Name, l.Size(), err)
		}
		for _, s := range secs {
			if !s.Writable || !s.Erasable {
				return a, addr, usererr.Errorf("updateflow", "sector %#08x of %s cannot be erased and written through the bootloader", s.Addr, l.Name)
			}
		}
		return a, addr, nil
	}
	return dfu.AltSetting{}, 0, usererr.Errorf("updateflow", "the device lists no DfuSe flash memory at %#08x", k.Address)
}

// optionBytes returns the option bytes setting, if any.
func optionBytes(desc *dfu.Description) (dfu.AltSetting, bool) {
	for _, a := range desc.DFU() {
		if l, err := a.Layout(); err == nil && strings.Contains(strings.ToLower(l.Name), "option bytes") {
			return a, true
		}
	}
	return dfu.AltSetting{}, false
}

// Check finds where the image goes, refuses a part whose read-out
// protection is on, and reads the MCUboot header already at the address,
// when there is one, for the version check.
func (k *DfuSe) Check(ctx context.Context, v *Verified) (Found, error) {
	var f Found
	if err := wrongFormat(v.Manifest, false, "an STM32 DfuSe bootloader"); err != nil {
		return f, err
	}
	ctl, desc, err := k.Link.DFU(ctx)
	if err != nil {
		return f, err
	}
	k.ctl = ctl
	f.Node, f.Hardware = desc.SerialNumber, fmt.Sprintf("%04x:%04x", desc.VendorID, desc.ProductID)
	ob, hasOB := optionBytes(desc)
	if k.Protecting && !hasOB {
		return f, &fwupdate.Refusal{Err: ErrNoOptionBytes,
			Reason: "its read-out protection is to be set, but its bootloader lists no option bytes memory to set it in"}
	}
	if hasOB {
		d, err := dfu.Open(ctx, ctl, ob)
		if err != nil {
			return f, err
		}
		lvl, err := d.ReadRDP(ctx)
		if err != nil {
			return f, err
		}
		if lvl != dfu.RDP0 {
			return f, &fwupdate.Refusal{Err: ErrProtected, Reason: fmt.Sprintf(
				"the part is at %v: its bootloader refuses to read and write the flash until a mass erase removes the protection (and the firmware with it)", lvl)}
		}
	}
	alt, addr, err := k.target(desc, len(v.Image))
	if err != nil {
		return f, err
	}
	k.alt, k.addr = alt, addr
	d, err := dfu.Open(ctx, ctl, alt)
	if err != nil {
		return f, err
	}
	hb, err := d.UploadAt(ctx, addr, mcuimg.HeaderSize, nil)
	if err != nil {
		return f, err
	}
	h, herr := mcuimg.ParseHeader(hb)
	if herr != nil {
		f.Detail = fmt.Sprintf("the part holds no MCUboot image at %#08x, so no version to compare; release %s goes there (%d bytes)",
			addr, v.Manifest.Version, len(v.Image))
		return f, nil
	}
	f.FromVersion = smpVersion(h.Version)
	s := &fwupdate.Summary{Slots: []smp.SlotImage{{Image: v.Manifest.Component, Version: f.FromVersion, Active: true, Confirmed: true}}}
	m := *v.Manifest
	m.Hardware = nil // a bootloader does not say which board it is on
	if err := fwupdate.Check(&m, s, fwupdate.CheckOptions{}); err != nil {
		return f, err
	}
	f.Detail = fmt.Sprintf("the part runs %s at %#08x; release %s is newer and goes there", f.FromVersion, addr, v.Manifest.Version)
	return f, nil
}

// Write erases the sectors the image covers, writes it at its address and
// reads it back. A part that goes away mid-write is waited for and written
// again from the start.
func (k *DfuSe) Write(ctx context.Context, v *Verified, emit func(Event)) (string, error) {
	start := time.Now()
	restarts := 0
	for {
		ctl := k.ctl
		k.ctl = nil
		var err error
		if ctl == nil {
			var desc *dfu.Description
			if ctl, desc, err = k.Link.DFU(ctx); err != nil {
				return "", err
			}
			if k.alt, k.addr, err = k.target(desc, len(v.Image)); err != nil {
				closeControl(ctl)
				return "", err
			}
		}
		ps := time.Now()
		err = dfu.WriteElements(ctx, ctl, k.alt, []dfu.Element{{Address: k.addr, Data: v.Image}}, dfu.WriteOptions{
			Progress: func(_ dfu.AltSetting, st dfu.Stage, done, total int64) {
				if st == dfu.StageWrite {
					emit(progressEvent(ps, done, total))
				}
			}})
		if err == nil {
			k.ctl = ctl
			detail := fmt.Sprintf("%d bytes at %#08x in %.1f s", len(v.Image), k.addr, time.Since(start).Seconds())
			if k.alt.Functional != nil && k.alt.Functional.CanUpload {
				detail += ", read back and compared: identical"
			}
			if restarts > 0 {
				detail += fmt.Sprintf("; written again from the start %d time(s) after the part went away", restarts)
			}
			return detail, nil
		}
		closeControl(ctl)
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if !errors.Is(err, dfu.ErrDisconnected) || restarts >= maxRestarts {
			return "", err
		}
		restarts++
		emit(Event{Step: StepUpload, Unplugged: true, Detail: "the part went away: put it back in its bootloader and the write starts again"})
	}
}

// Boot leaves DFU mode: the bootloader starts the application at the
// image's address.
func (k *DfuSe) Boot(ctx context.Context, v *Verified) (string, error) {
	ctl := k.ctl
	k.ctl = nil
	if ctl == nil {
		return "", usererr.Errorf("updateflow", "the part left its bootloader: %w", dfu.ErrDisconnected)
	}
	defer closeControl(ctl)
	d, err := dfu.Open(ctx, ctl, k.alt)
	if err != nil {
		return "", err
	}
	if err := d.Leave(ctx, k.addr); err != nil {
		return "", err
	}
	return fmt.Sprintf("the bootloader started the application at %#08x", k.addr), nil
}

// Running is not a step of a DfuSe bootloader.
func (k *DfuSe) Running(context.Context, *Verified) (string, error) {
	return "", usererr.New("updateflow", "a DfuSe bootloader cannot report what runs")
}

// Confirm is not a step of a DfuSe bootloader.
func (k *DfuSe) Confirm(context.Context, *Verified) (string, error) {
	return "", usererr.New("updateflow", "a DfuSe bootloader has nothing to confirm")
}
