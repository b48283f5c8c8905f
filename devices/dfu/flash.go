package dfu

import (
	"context"
	"fmt"

	"trustforge/internal/usererr"
)

// Stage is a step of WriteDfuSe or WriteSlot, for progress reports.
type Stage string

// Stages.
const (
	StageWrite  Stage = "write"
	StageVerify Stage = "verify"
)

// WriteOptions tune WriteDfuSe and WriteSlot. The zero value writes and
// verifies, without progress reports.
type WriteOptions struct {
	// NoVerify skips reading back what was written. Devices that cannot
	// upload are never verified.
	NoVerify bool
	// Progress, when set, is told each stage's progress and which
	// alternate setting it concerns.
	Progress func(alt AltSetting, stage Stage, done, total int64)
}

func (o WriteOptions) progress(a AltSetting, s Stage) Progress {
	if o.Progress == nil {
		return nil
	}
	return func(done, total int64) { o.Progress(a, s, done, total) }
}

// FindAlt returns the DFU alternate setting of desc numbered alt.
func FindAlt(desc *Description, alt uint8) (AltSetting, error) {
	for _, a := range desc.DFU() {
		if a.Alternate == alt && !a.Runtime() {
			return a, nil
		}
	}
	return AltSetting{}, usererr.Errorf("dfu", "the device has no DFU alternate setting %d", alt)
}

// WriteDfuSe writes every element of every target of a DfuSe file through
// the target's alternate setting at its address (erasing what it covers),
// and reads each back unless told not to.
func WriteDfuSe(ctx context.Context, c Control, desc *Description, f *File, opts WriteOptions) error {
	if !f.DfuSe() {
		return usererr.Errorf("dfu", "the file is a plain DFU file, not DfuSe")
	}
	for _, t := range f.Targets {
		a, err := FindAlt(desc, t.Alternate)
		if err != nil {
			return usererr.Errorf("dfu", "target %q: %w", t.Name, err)
		}
		if err := WriteElements(ctx, c, a, t.Elements, opts); err != nil {
			return err
		}
	}
	return nil
}

// WriteElements writes elements at their addresses through alternate
// setting a of a DfuSe device, and reads them back unless told not to.
func WriteElements(ctx context.Context, c Control, a AltSetting, els []Element, opts WriteOptions) error {
	d, err := Open(ctx, c, a)
	if err != nil {
		return err
	}
	if !d.fn.DfuSe() {
		return usererr.Errorf("dfu", "%s: addressed writes need a DfuSe device: %w", a.Name, ErrNotDfuSe)
	}
	for _, e := range els {
		if err := d.DownloadAt(ctx, e.Address, e.Data, opts.progress(a, StageWrite)); err != nil {
			return err
		}
	}
	if opts.NoVerify || !d.fn.CanUpload {
		return nil
	}
	for _, e := range els {
		if err := d.Verify(ctx, e.Address, e.Data, opts.progress(a, StageVerify)); err != nil {
			return err
		}
	}
	return nil
}

// WriteSlot downloads image through alternate setting a of a plain DFU
// device (an MCUboot slot of a Zephyr board), then reads it back unless
// told not to. The device keeps running in DFU mode; reset it to boot.
func WriteSlot(ctx context.Context, c Control, a AltSetting, image []byte, opts WriteOptions) error {
	d, err := Open(ctx, c, a)
	if err != nil {
		return err
	}
	if err := d.Download(ctx, image, opts.progress(a, StageWrite)); err != nil {
		return err
	}
	if opts.NoVerify || !d.fn.CanUpload || !d.fn.ManifestationTolerant {
		return nil
	}
	back, err := d.Upload(ctx, len(image), opts.progress(a, StageVerify))
	if err != nil {
		return err
	}
	if len(back) < len(image) {
		return &MismatchError{Where: fmt.Sprintf("the device returned %d of the %d bytes written", len(back), len(image))}
	}
	for i := range image {
		if back[i] != image[i] {
			return &MismatchError{Where: fmt.Sprintf("first at offset %#x of %s", i, a.Name)}
		}
	}
	return nil
}
