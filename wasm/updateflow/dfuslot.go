package updateflow

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"trustforge/crypto/mcuimg"
	"trustforge/devices/dfu"
	"trustforge/devices/fwupdate"
	"trustforge/devices/smp"
	"trustforge/internal/usererr"
)

// DFULink reaches a USB DFU board for the flow.
type DFULink interface {
	// DFU returns the board's DFU interface in DFU mode and its
	// description: a board running its application is detached into DFU
	// mode and found again (a new USB device). While the board is
	// unplugged it waits for it to come back, until ctx ends.
	DFU(ctx context.Context) (dfu.Control, *dfu.Description, error)
	// App returns an SMP client to the board's application (Zephyr's SMP
	// over its USB vendor interface). With wait it waits for the
	// application to come up after a reset; without, it answers at once.
	// It fails with an error wrapping ErrNoApp when the board runs no
	// application with SMP.
	App(ctx context.Context, wait bool) (*smp.Client, error)
}

// ErrNoApp reports a DFU board whose application offers no SMP interface
// (or runs no application).
var ErrNoApp = usererr.New("updateflow", "the board's application offers no SMP interface")

// maxRestarts bounds how often a DFU or ESP32 write starts again after the
// board went away.
const maxRestarts = 5

// DFUSlot is a Zephyr board with the USB DFU class over MCUboot: the image
// is downloaded into the slot's alternate setting ("image-1"), read back and
// compared; a reset makes MCUboot test-boot it, and the application's SMP
// interface checks and confirms it. An unplug during the download leaves
// the slot unrequested (the board keeps booting its image) and the
// download starts again once the board is back.
type DFUSlot struct {
	// Link reaches the board. Required.
	Link DFULink
	// Slot names the alternate setting the image goes to; empty means
	// "image-1", Zephyr's upload slot.
	Slot string
	// BootTimeout bounds the wait for the application after a reset; zero
	// means fwupdate.DefaultBootTimeout.
	BootTimeout time.Duration

	ctl dfu.Control
}

var _ Kind = (*DFUSlot)(nil)

func (k *DFUSlot) slot() string {
	if k.Slot == "" {
		return "image-1"
	}
	return k.Slot
}

// Steps are all of them: the application confirms over SMP.
func (k *DFUSlot) Steps() []Step { return []Step{StepUpload, StepTestBoot, StepRunning, StepConfirm} }

// Check reads what the board runs, over its application's SMP interface
// when it has one (summary, hardware, slots), or else from the MCUboot
// header of slot 0 read through DFU, and checks the release against it.
func (k *DFUSlot) Check(ctx context.Context, v *Verified) (Found, error) {
	var f Found
	if err := wrongFormat(v.Manifest, false, "a Zephyr DFU board"); err != nil {
		return f, err
	}
	s, how, err := k.summary(ctx)
	if err != nil {
		return f, err
	}
	f.Summary, f.Node, f.Hardware = s, s.Node, s.Hardware
	if run, ok := s.Running(v.Manifest.Component); ok {
		f.FromVersion = run.Version
		if len(run.Hash) > 0 {
			f.FromSHA256 = hex.EncodeToString(run.Hash)
		}
	}
	if err := fwupdate.Check(v.Manifest, s, fwupdate.CheckOptions{}); err != nil {
		return f, err
	}
	hw := s.Hardware
	if hw == "" {
		hw = "hardware not reported"
	}
	f.Detail = fmt.Sprintf("the board (%s) runs %s (%s); release %s is newer and goes into %s over USB DFU",
		hw, f.FromVersion, how, v.Manifest.Version, k.slot())
	return f, nil
}

// summary asks the application over SMP, or reads slot 0's header.
func (k *DFUSlot) summary(ctx context.Context) (*fwupdate.Summary, string, error) {
	c, err := k.Link.App(ctx, false)
	if err == nil {
		s, err := fwupdate.ReadSummary(ctx, c)
		return s, "read over its SMP interface", err
	}
	if !errors.Is(err, ErrNoApp) {
		return nil, "", err
	}
	ctl, desc, err := k.Link.DFU(ctx)
	if err != nil {
		return nil, "", err
	}
	k.ctl = ctl
	alt, err := findAlt(desc, "image-0")
	if err != nil {
		return nil, "", err
	}
	d, err := dfu.Open(ctx, ctl, alt)
	if err != nil {
		return nil, "", err
	}
	b, err := d.Upload(ctx, mcuimg.HeaderSize, nil)
	if err != nil {
		return nil, "", usererr.Errorf("updateflow", "reading slot 0 over DFU: %w", err)
	}
	s := &fwupdate.Summary{Bootloader: "MCUboot"}
	h, err := mcuimg.ParseHeader(b)
	if err != nil {
		// An empty slot 0: the board runs no image (MCUboot's recovery).
		return s, "slot 0 holds no MCUboot image", nil
	}
	s.Slots = []smp.SlotImage{{Image: 0, Slot: 0, Version: smpVersion(h.Version), Active: true, Confirmed: true, Bootable: true}}
	s.Notes = []string{"read from slot 0's MCUboot header over DFU: the board's hardware is not known"}
	return s, "read from slot 0's MCUboot header over DFU", nil
}

// findAlt returns desc's DFU-mode alternate setting named name.
func findAlt(desc *dfu.Description, name string) (dfu.AltSetting, error) {
	var names []string
	for _, a := range desc.DFU() {
		if a.Runtime() {
			continue
		}
		if a.Name == name {
			return a, nil
		}
		names = append(names, fmt.Sprintf("%q", a.Name))
	}
	return dfu.AltSetting{}, usererr.Errorf("updateflow", "the device has no DFU alternate setting %q (it has %v)", name, names)
}

// Write downloads the image into the slot and reads it back. A board that
// goes away mid-download is waited for and written again from the start:
// the slot is only requested for a test boot once a download completes.
func (k *DFUSlot) Write(ctx context.Context, v *Verified, emit func(Event)) (string, error) {
	start := time.Now()
	restarts := 0
	for {
		ctl, desc, err := takeDFU(ctx, k.Link, &k.ctl)
		if err != nil {
			return "", err
		}
		alt, err := findAlt(desc, k.slot())
		if err != nil {
			return "", err
		}
		ps := time.Now()
		err = dfu.WriteSlot(ctx, ctl, alt, v.Image, dfu.WriteOptions{Progress: func(_ dfu.AltSetting, st dfu.Stage, done, total int64) {
			if st == dfu.StageWrite {
				emit(progressEvent(ps, done, total))
			}
		}})
		if err == nil {
			k.ctl = ctl
			detail := fmt.Sprintf("%d bytes into %s in %.1f s", len(v.Image), alt.Name, time.Since(start).Seconds())
			if alt.Functional != nil && alt.Functional.CanUpload && alt.Functional.ManifestationTolerant {
				detail += ", read back and compared: identical"
			}
			if restarts > 0 {
				detail += fmt.Sprintf("; written again from the start %d time(s) after the board went away", restarts)
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
		emit(Event{Step: StepUpload, Unplugged: true, Detail: "the board went away: plug it back in and the download starts again (it keeps booting its current image)"})
	}
}

func closeControl(c dfu.Control) {
	if cl, ok := c.(dfu.Closer); ok {
		_ = cl.Close()
	}
}

// Boot resets the board: MCUboot test-boots the downloaded slot, and the
// application comes back.
func (k *DFUSlot) Boot(ctx context.Context, v *Verified) (string, error) {
	ctl := k.ctl
	k.ctl = nil
	if ctl == nil {
		return "", usererr.Errorf("updateflow", "the board left DFU mode before its reset: %w", dfu.ErrDisconnected)
	}
	r, ok := ctl.(dfu.Resetter)
	if !ok {
		closeControl(ctl)
		return "", usererr.New("updateflow", "this connection cannot reset the board: unplug it and plug it back in")
	}
	if err := r.Reset(ctx); err != nil && !errors.Is(err, dfu.ErrDisconnected) {
		closeControl(ctl)
		return "", err
	}
	closeControl(ctl)
	if _, err := k.app(ctx); err != nil {
		if errors.Is(err, ErrNoApp) {
			return "the board restarted: MCUboot test-boots the new image", nil
		}
		return "", err
	}
	return "the board restarted: MCUboot test-boots the new image, and its application is back", nil
}

func (k *DFUSlot) app(ctx context.Context) (*smp.Client, error) {
	t := k.BootTimeout
	if t <= 0 {
		t = fwupdate.DefaultBootTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	c, err := k.Link.App(wctx, true)
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		return nil, usererr.Errorf("", "%w: its application did not come back over USB within %v", fwupdate.ErrNotBooted, t)
	}
	return c, err
}

func noApp(err error) error {
	if errors.Is(err, ErrNoApp) {
		return usererr.Errorf("", "%w: the new image cannot be checked or confirmed from here; it reverts at the next reset unless the application confirms itself", err)
	}
	return err
}

// Running checks over the application's SMP interface that the board runs
// the new image at the release's version.
func (k *DFUSlot) Running(ctx context.Context, v *Verified) (string, error) {
	c, err := k.app(ctx)
	if err != nil {
		return "", noApp(err)
	}
	run, err := fwupdate.CheckRunning(ctx, c, v.Manifest.Component, v.Hash)
	if err != nil {
		return "", err
	}
	if err := versionIs(run.Version, v.Manifest.Version); err != nil {
		return "", err
	}
	return "the board runs " + run.Version + " (test boot)", nil
}

// Confirm confirms the running image over SMP.
func (k *DFUSlot) Confirm(ctx context.Context, v *Verified) (string, error) {
	c, err := k.app(ctx)
	if err != nil {
		return "", noApp(err)
	}
	if _, err := fwupdate.Confirm(ctx, c, v.Manifest.Component); err != nil {
		return "", err
	}
	return v.Manifest.Version.String() + " is confirmed: it stays after resets", nil
}

// progressEvent is a StepUpload event for done of total bytes written
// since start.
func progressEvent(start time.Time, done, total int64) Event {
	p := smp.UploadProgress{Offset: done, Total: total, Elapsed: time.Since(start)}
	if s := p.Elapsed.Seconds(); s > 0 && done > 0 {
		p.Rate = float64(done) / s
		p.ETA = time.Duration(float64(total-done) / p.Rate * float64(time.Second))
	}
	return Event{Step: StepUpload, Upload: &p}
}

// takeDFU returns the DFU interface *held kept open from an earlier step,
// described afresh, and clears *held; with none held it reaches the board
// through link.
func takeDFU(ctx context.Context, link DFULink, held *dfu.Control) (dfu.Control, *dfu.Description, error) {
	ctl := *held
	*held = nil
	if ctl == nil {
		return link.DFU(ctx)
	}
	desc, err := dfu.Describe(ctx, ctl)
	return ctl, desc, err
}
