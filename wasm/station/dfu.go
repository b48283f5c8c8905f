package station

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"trustforge/crypto/mcuimg"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/devices/fwupdate"
	"trustforge/devices/provision"
	"trustforge/devices/smp"
	"trustforge/internal/usererr"
	"trustforge/wasm/updateflow"
)

// DFUBoard is a USB DFU board presented to the station: in the console, a
// WebUSB device the browser grants the console, recognised by its DFU
// interface (class 0xFE, subclass 0x01).
type DFUBoard struct {
	// Label names the board for people, e.g. "STM32  BOOTLOADER (0483:df11)".
	Label string
	// Serial is the board's USB serial number, which it keeps across
	// re-enumerations. In lowercase it is the device id of a board that
	// does not give its own over the provisioning group (an STM32's
	// bootloader, a Zephyr board without it): Zephyr and ST's bootloader
	// both make it from the chip's unique id, in hex.
	Serial string
	// DfuSe is set for an STM32's DfuSe bootloader (it lists a memory
	// layout), clear for a Zephyr board with the USB DFU class over
	// MCUboot.
	DfuSe bool
	// Link reaches the board. When it has a Close method, ProgramDFU
	// calls it once the board's run ends.
	Link updateflow.DFULink
}

// ProgramDFU runs one USB DFU board through the package's MCUboot image,
// with the same Kinds as the technician's guided update:
//
//   - a Zephyr board (updateflow.DFUSlot) gets the image in its upload
//     slot's alternate setting, read back and compared; a reset makes
//     MCUboot test-boot it, and the application's SMP interface checks
//     the version and confirms it;
//   - an STM32's DfuSe bootloader (updateflow.DfuSe) gets it raw at the
//     package's address (the start of its flash by default), erased,
//     written, read back and compared; then, when the package asks for it
//     and the station's operator confirmed it (ReadOutProtection), its
//     read-out protection is set to level 1 and checked, or else the
//     bootloader starts the application.
//
// A Zephyr board whose application answers the provisioning group (SMP
// group 64 over its USB SMP interface) gives its device id and is
// provisioned as on a serial port — its key born on the board, its
// certificate from the batch CA carrying its ticket, the board locked —
// once the image runs confirmed, or before the write in "device" image
// mode, whose image is encrypted to the key the board made. Otherwise the
// board's USB serial number is its device id and no certificate is issued
// (an STM32's bootloader cannot make a key).
//
// The ticket is taken once the check found nothing against the board, and
// nothing is written before it is in hand. A board unplugged mid-write is
// reported through onStep and written again from the start when it is
// back; until then it boots what it had (the slot is only requested for a
// test boot once a download completes; an STM32's bootloader is in ROM).
// A board whose run failed is left unlocked and may be presented again.
func (s *Station) ProgramDFU(ctx context.Context, b DFUBoard, port string, onStep func(Step)) *Result {
	res := s.newResult(port)
	if res.Record != nil {
		res.Record.Board.Transport = "usb-dfu"
		if b.DfuSe {
			res.Record.Board.Transport = "usb-dfuse"
		}
	}
	r := &run{s: s, res: res, onStep: onStep}
	err := r.programDFU(ctx, b)
	if c, ok := b.Link.(interface{ Close() error }); ok {
		c.Close() // the link's hold on the board
	}
	return s.finish(ctx, res, err)
}

// dfuKind is a DFU board's updateflow Kind, with DfuSe's protection.
func (s *Station) dfuKind(b DFUBoard) updateflow.Kind {
	if b.DfuSe {
		d := s.Package.Manifest.DFU
		return &updateflow.DfuSe{Link: b.Link, Address: d.Address, Protecting: d.ReadOutProtection}
	}
	return &updateflow.DFUSlot{Link: b.Link, BootTimeout: s.BootTimeout}
}

// dfuDeviceID returns a board's device id from its USB serial number.
func dfuDeviceID(serial string) (string, error) {
	id := strings.ToLower(strings.TrimSpace(serial))
	if _, err := pki.ParseDeviceID(id); err != nil {
		return "", usererr.Errorf("", "%w: the board's USB serial number %q is not a hardware id in hex, so it has no device id for its ticket; nothing was written", ErrRefused, serial)
	}
	return id, nil
}

func (r *run) programDFU(ctx context.Context, b DFUBoard) error {
	s, m := r.s, r.s.Package.Manifest
	switch {
	case m.Release.IsFlashSet():
		return usererr.Errorf("", "%w: the package programs an ESP32 flash set, not a USB DFU board; nothing was written", ErrRefused)
	case b.DfuSe && m.ImageMode == production.ImageDevice:
		return usererr.Errorf("", "%w: the package encrypts its image to each board's own key, which an STM32's bootloader cannot make; nothing was written", ErrRefused)
	case b.DfuSe && m.DFU.ReadOutProtection && !s.ReadOutProtection:
		return usererr.Errorf("", "%w: the package sets STM32 read-out protection to level 1, which cannot be undone: confirm it in the station's set-up first; nothing was written", ErrRefused)
	}
	v, err := r.release()
	if err != nil {
		return err
	}
	v.Manifest.Component = m.Release.Component
	k := s.dfuKind(b)
	var id string
	var provisioned bool // the board's application speaks the provisioning group
	if err := r.step("info", func() (string, error) {
		var how string
		var err error
		var info *provision.Info
		info, id, how, err = dfuIdentity(ctx, b)
		r.res.DeviceID, provisioned = id, info != nil
		if err != nil {
			return "", err
		}
		if provisioned {
			// A clone is refused before anything is written: the
			// identity comes after the image here.
			if err := r.clone(ctx, info); err != nil {
				return "", err
			}
		}
		if m.ImageMode == production.ImageDevice && !provisioned {
			return "", usererr.Errorf("", "%w: the package encrypts its image to each board's own key, and this board's application cannot make one (it has no provisioning interface); nothing was written", ErrRefused)
		}
		f, err := k.Check(ctx, v)
		if r.res.Record != nil {
			r.res.Record.Board.Node, r.res.Record.Board.Hardware = id, f.Hardware
			r.res.Record.Board.FromVersion, r.res.Record.Board.FromSHA256 = f.FromVersion, f.FromSHA256
		}
		var ref *fwupdate.Refusal
		switch {
		case errors.As(err, &ref):
			return "", usererr.Errorf("", "%w: %s; nothing was written", ErrRefused, ref.Reason)
		case err != nil:
			return "", err
		}
		return fmt.Sprintf("device %s (%s): %s", id, how, f.Detail), nil
	}); err != nil {
		return err
	}
	ticket, err := r.ticket(ctx, id)
	if err != nil {
		return err
	}
	// The board's identity, as on a serial port: its key is born on the
	// board, and its certificate carries the ticket. In "device" image
	// mode it comes first, for the key the image is encrypted to;
	// otherwise it comes once the image runs confirmed, so a board whose
	// write failed is left as it was, unlocked, and takes the same
	// ticket again when presented again.
	identity := func() (*provision.Result, error) {
		c, err := b.Link.App(ctx, false)
		if err != nil {
			return nil, err
		}
		return r.provision(ctx, provision.NewClient(c), ticket)
	}
	if provisioned && m.ImageMode == production.ImageDevice {
		prov, err := identity()
		if err != nil {
			return err
		}
		if err := r.step("prepare", func() (string, error) { return encryptFor(r.s, v, prov) }); err != nil {
			return err
		}
	}
	if err := r.step("upload", func() (string, error) {
		return k.Write(ctx, v, func(e updateflow.Event) { r.progress(e) })
	}); err != nil {
		return err
	}
	type step struct {
		name string
		f    func() (string, error)
	}
	var steps []step
	switch k := k.(type) {
	case *updateflow.DfuSe:
		if m.DFU.ReadOutProtection {
			steps = append(steps, step{"protect", func() (string, error) { return k.Protect(ctx) }})
		} else {
			steps = append(steps, step{"boot", func() (string, error) { return k.Boot(ctx, v) }})
		}
	default:
		steps = append(steps,
			step{"boot", func() (string, error) { return k.Boot(ctx, v) }},
			step{"running", func() (string, error) { return k.Running(ctx, v) }},
			step{"confirm", func() (string, error) { return k.Confirm(ctx, v) }})
	}
	for _, st := range steps {
		if err := r.step(st.name, st.f); err != nil {
			return err
		}
	}
	if provisioned && m.ImageMode != production.ImageDevice {
		_, err := identity()
		return err
	}
	return nil
}

// dfuIdentity finds a DFU board's device id. A Zephyr board whose
// application answers the provisioning group (SMP group 64) gives its own,
// and is provisioned as on a serial port; one that is locked already is
// refused. Otherwise the USB serial number is the id.
func dfuIdentity(ctx context.Context, b DFUBoard) (info *provision.Info, id, how string, err error) {
	if !b.DfuSe {
		c, err := b.Link.App(ctx, false)
		switch {
		case err == nil:
			i, err := provision.NewClient(c).Info(ctx)
			var se *smp.Error
			switch {
			case err == nil && i.Locked:
				return nil, i.ID, "", usererr.Errorf("", "%w: device %s is already provisioned and locked; nothing was written", ErrRefused, i.ID)
			case err == nil:
				return &i, i.ID, fmt.Sprintf("%s rev %s: %s", i.Model, i.Rev, i.State()), nil
			case errors.As(err, &se) && !se.GroupError && smp.RC(se.Code) == smp.RCNotSupported:
				// An application without the provisioning group.
			default:
				return nil, "", "", err
			}
		case !errors.Is(err, updateflow.ErrNoApp):
			return nil, "", "", err
		}
	}
	id, err = dfuDeviceID(b.Serial)
	return nil, id, "its USB serial number", err
}

// clone refuses a board with no identity yet whose device id the registry
// holds: a clone, or a replacement for a registered board.
func (r *run) clone(ctx context.Context, info *provision.Info) error {
	if r.s.Registry == nil || info.IDKey {
		return nil // a board with an identity: provisioning checks it is the registered one
	}
	reg, err := r.s.Registry.Lookup(ctx, info.ID)
	if err != nil || reg == nil {
		return err
	}
	return usererr.Errorf("", "%w: device %s was provisioned on %s by %s with another identity: this board is a clone or a replacement; nothing was written",
		ErrRefused, info.ID, reg.Provisioned.UTC().Format(time.RFC3339), reg.Operator)
}

// encryptFor replaces v's image with a copy encrypted to the board's own
// image key.
func encryptFor(s *Station, v *updateflow.Verified, prov *provision.Result) (string, error) {
	if prov == nil || prov.EncryptionKey == nil {
		return "", usererr.New("station", "the board has no image encryption key to encrypt its copy to")
	}
	img, err := mcuimg.Parse(v.Image)
	if err != nil {
		return "", err
	}
	data, err := img.EncryptFor(s.rand(), prov.EncryptionKey)
	if err != nil {
		return "", err
	}
	v.Image = data
	return "the image is encrypted to this board's key " + prov.EncryptionKey.Fingerprint(), nil
}

// progress passes an upload's progress and unplugs on as running steps.
func (r *run) progress(e updateflow.Event) {
	if r.onStep == nil {
		return
	}
	st := Step{Name: "upload", Status: provision.Running}
	switch {
	case e.Unplugged:
		st.Detail, st.Unplugged = e.Detail, true
	case e.Upload != nil:
		st.Done, st.Total = e.Upload.Offset, e.Upload.Total
		st.Detail = fmt.Sprintf("writing: %d %%", e.Upload.Offset*100/max(e.Upload.Total, 1))
	default:
		return
	}
	r.onStep(st)
}
