package board

import (
	"context"
	"fmt"
	"strings"
	"time"

	"trustforge/devices/dfu"
	"trustforge/devices/webusb"
	"trustforge/internal/usererr"
	"trustforge/wasm/ui/kit"
)

// DFUSession is a DFU device the console has open: in DFU mode, its
// descriptors read. Its methods do USB I/O: call them off the UI goroutine.
type DFUSession struct {
	dev  *webusb.Device
	ctl  dfu.Control
	Desc *dfu.Description
	// written is what the last write put where, for a later read back.
	Written []dfuWritten
}

type dfuWritten struct {
	alt dfu.AltSetting
	els []dfu.Element
}

// OpenDFU opens dev and, when it runs its application, detaches it into DFU
// mode and finds it again (a new USB device, same serial number).
func OpenDFU(ctx context.Context, dev *webusb.Device) (*DFUSession, error) {
	c, err := webusb.OpenDFU(ctx, dev)
	if err != nil {
		return nil, err
	}
	ctl, desc, err := dfu.EnterDFU(ctx, c, webusb.FindDFU(dev.Info().SerialNumber))
	if err != nil {
		c.Close()
		return nil, err
	}
	s := &DFUSession{dev: dev, ctl: ctl, Desc: desc}
	if w, ok := ctl.(*webusb.DFUControl); ok {
		s.dev = w.Device()
	}
	return s, nil
}

// Close closes the session's USB device.
func (s *DFUSession) Close() {
	if c, ok := s.ctl.(dfu.Closer); ok {
		c.Close()
	}
}

// DfuSe reports whether the device speaks ST's DfuSe.
func (s *DFUSession) DfuSe() bool {
	for _, a := range s.Desc.DFU() {
		if a.Functional != nil && a.Functional.DfuSe() {
			return true
		}
	}
	return false
}

// Targets are the alternate settings a file can be written to: every
// DFU-mode setting but option bytes.
func (s *DFUSession) Targets() []dfu.AltSetting {
	var out []dfu.AltSetting
	for _, a := range s.Desc.DFU() {
		if a.Runtime() {
			continue
		}
		if l, err := a.Layout(); err == nil && strings.Contains(strings.ToLower(l.Name), "option bytes") {
			continue
		}
		out = append(out, a)
	}
	return out
}

// OptionBytes returns the DfuSe option bytes setting, if any.
func (s *DFUSession) OptionBytes() (dfu.AltSetting, bool) {
	for _, a := range s.Desc.DFU() {
		if l, err := a.Layout(); err == nil && strings.Contains(strings.ToLower(l.Name), "option bytes") {
			return a, true
		}
	}
	return dfu.AltSetting{}, false
}

// Write writes a file through alt: a DfuSe .dfu file to its targets, an
// Intel HEX or raw file at its addresses (raw at addr) on a DfuSe device,
// or the whole file (an MCUboot image) into a slot setting. It reads back
// and compares where the device allows, and says what it did.
func (s *DFUSession) Write(ctx context.Context, alt dfu.AltSetting, data []byte, addr uint32, progress func(dfu.Stage, int64, int64)) (string, error) {
	opts := dfu.WriteOptions{Progress: func(_ dfu.AltSetting, st dfu.Stage, done, total int64) {
		if progress != nil {
			progress(st, done, total)
		}
	}}
	verified := ""
	if alt.Functional != nil && alt.Functional.CanUpload {
		verified = ", read back and compared: identical"
	}
	if f, err := dfu.ParseFile(data); err == nil {
		if f.VendorID != dfu.AnyID && f.VendorID != s.Desc.VendorID || f.ProductID != dfu.AnyID && f.ProductID != s.Desc.ProductID {
			return "", usererr.Errorf("ui", "the file is for device %04x:%04x, this one is %04x:%04x", f.VendorID, f.ProductID, s.Desc.VendorID, s.Desc.ProductID)
		}
		if f.DfuSe() {
			if err := dfu.WriteDfuSe(ctx, s.ctl, s.Desc, f, opts); err != nil {
				return "", err
			}
			s.Written = s.Written[:0]
			n := 0
			for _, t := range f.Targets {
				a, _ := dfu.FindAlt(s.Desc, t.Alternate)
				s.Written = append(s.Written, dfuWritten{alt: a, els: t.Elements})
				for _, e := range t.Elements {
					n += len(e.Data)
				}
			}
			return fmt.Sprintf("Wrote the DfuSe file: %s in %d target(s)%s.", kit.SizeText(int64(n)), len(f.Targets), verified), nil
		}
		data = f.Payload
	}
	if alt.Functional != nil && alt.Functional.DfuSe() {
		els, err := dfu.LoadImage(data, addr)
		if err != nil {
			return "", err
		}
		if err := dfu.WriteElements(ctx, s.ctl, alt, els, opts); err != nil {
			return "", err
		}
		s.Written = []dfuWritten{{alt: alt, els: els}}
		return fmt.Sprintf("Wrote %s at 0x%08X%s.", kit.SizeText(int64(len(data))), els[0].Address, verified), nil
	}
	if err := dfu.WriteSlot(ctx, s.ctl, alt, data, opts); err != nil {
		return "", err
	}
	s.Written = nil
	return fmt.Sprintf("Wrote %s into %s%s. Reset the board to test-boot it.", kit.SizeText(int64(len(data))), alt.Name, verified), nil
}

// ReadBack reads what the last write put on a DfuSe device and compares.
func (s *DFUSession) ReadBack(ctx context.Context) (string, error) {
	if len(s.Written) == 0 {
		return "", usererr.Errorf("ui", "nothing written in this session to compare")
	}
	n := 0
	for _, w := range s.Written {
		d, err := dfu.Open(ctx, s.ctl, w.alt)
		if err != nil {
			return "", err
		}
		for _, e := range w.els {
			if err := d.Verify(ctx, e.Address, e.Data, nil); err != nil {
				return "", err
			}
			n += len(e.Data)
		}
	}
	return fmt.Sprintf("Read back %s: identical to what was written.", kit.SizeText(int64(n))), nil
}

// RDP reads the read-out protection level.
func (s *DFUSession) RDP(ctx context.Context) (dfu.RDPLevel, error) {
	a, ok := s.OptionBytes()
	if !ok {
		return 0, usererr.Errorf("ui", "the device has no option bytes memory")
	}
	d, err := dfu.Open(ctx, s.ctl, a)
	if err != nil {
		return 0, err
	}
	return d.ReadRDP(ctx)
}

// SetRDP1 sets read-out protection level 1; the part resets to apply it,
// and the session follows it to the device it comes back as.
func (s *DFUSession) SetRDP1(ctx context.Context) error {
	a, ok := s.OptionBytes()
	if !ok {
		return usererr.Errorf("ui", "the device has no option bytes memory")
	}
	d, err := dfu.Open(ctx, s.ctl, a)
	if err != nil {
		return err
	}
	if err := d.SetRDP(ctx, dfu.RDP1); err != nil {
		return err
	}
	return s.reopen(ctx)
}

// reopen finds the device again after it reset: a new USB device with the
// same serial number.
func (s *DFUSession) reopen(ctx context.Context) error {
	old, serial := s.dev, s.dev.Info().SerialNumber
	s.Close()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		devs, err := webusb.Devices.Granted(ctx)
		if err != nil {
			return err
		}
		for _, d := range devs {
			if d.Same(old) || !d.Info().IsDFU() || d.Info().SerialNumber != serial {
				continue
			}
			c, err := webusb.OpenDFU(ctx, d)
			if err != nil {
				continue
			}
			desc, err := dfu.Describe(ctx, c)
			if err != nil {
				c.Close()
				continue
			}
			s.dev, s.ctl, s.Desc = d, c, desc
			return nil
		}
		select {
		case <-ctx.Done():
			return usererr.Errorf("ui", "the device did not come back after its reset: %w", dfu.ErrDisconnected)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Reset resets the device: a Zephyr board reboots, MCUboot test-boots a
// new slot-1 image.
func (s *DFUSession) Reset(ctx context.Context) error {
	r, ok := s.ctl.(dfu.Resetter)
	if !ok {
		return usererr.Errorf("ui", "this connection cannot reset the device: unplug and replug it")
	}
	err := r.Reset(ctx)
	s.Close()
	return err
}

// Leave starts a DfuSe device's application.
func (s *DFUSession) Leave(ctx context.Context) error {
	ts := s.Targets()
	if len(ts) == 0 {
		return usererr.Errorf("ui", "the device has no memory to start from")
	}
	d, err := dfu.Open(ctx, s.ctl, ts[0])
	if err != nil {
		return err
	}
	l, err := d.Layout()
	if err != nil {
		return err
	}
	err = d.Leave(ctx, l.Sectors[0].Addr)
	s.Close()
	return err
}

// Control returns the session's DFU control interface.
func (s *DFUSession) Control() dfu.Control { return s.ctl }
