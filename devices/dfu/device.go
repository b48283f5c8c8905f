package dfu

import (
	"context"
	"errors"
	"fmt"
	"time"

	"trustforge/internal/usererr"
)

// Progress is told how many of total bytes have moved. It is called from
// the goroutine making the transfer.
type Progress func(done, total int64)

// ErrNotDFU is returned by Open for an alternate setting that is not a DFU
// interface with a functional descriptor.
var ErrNotDFU = usererr.New("dfu", "not a DFU interface")

// ErrState is returned when the device is in a state the operation cannot
// start from and cannot be brought out of.
var ErrState = usererr.New("dfu", "the device is in the wrong state")

// Device is a DFU interface of a device, one alternate setting selected.
// Its methods are not safe for concurrent use.
type Device struct {
	ctl Control
	alt AltSetting
	fn  Functional

	// Sleep waits d or until ctx is done. Nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now returns the time. Nil means time.Now.
	Now func() time.Time

	notBefore time.Time // no GETSTATUS before this (the last bwPollTimeout)
}

// Open selects alt on c and returns it as a Device.
func Open(ctx context.Context, c Control, alt AltSetting) (*Device, error) {
	if !alt.IsDFU() || alt.Functional == nil {
		return nil, usererr.Errorf("", "%w: interface %d alternate %d is class %#02x/%#02x", ErrNotDFU, alt.Interface, alt.Alternate, alt.Class, alt.Subclass)
	}
	if err := c.SelectAlternate(ctx, alt.Interface, alt.Alternate); err != nil {
		return nil, usererr.Errorf("dfu", "selecting alternate setting %d (%s): %w", alt.Alternate, alt.Name, err)
	}
	return &Device{ctl: c, alt: alt, fn: *alt.Functional}, nil
}

// Alt returns the selected alternate setting.
func (d *Device) Alt() AltSetting { return d.alt }

// Functional returns the interface's functional descriptor.
func (d *Device) Functional() Functional { return d.fn }

// Control returns the control pipe the device is reached through.
func (d *Device) Control() Control { return d.ctl }

func (d *Device) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Device) sleep(ctx context.Context, t time.Duration) error {
	if t <= 0 {
		return ctx.Err()
	}
	if d.Sleep != nil {
		return d.Sleep(ctx, t)
	}
	tm := time.NewTimer(t)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Device) setup(req uint8, value uint16) Setup {
	return Setup{Type: Class, Recipient: ToInterface, Request: req, Value: value, Index: uint16(d.alt.Interface)}
}

// GetStatus sends DFU_GETSTATUS, first waiting out the poll timeout the
// previous answer asked for.
func (d *Device) GetStatus(ctx context.Context) (StatusReport, error) {
	if err := d.sleep(ctx, d.notBefore.Sub(d.now())); err != nil {
		return StatusReport{}, err
	}
	b, err := d.ctl.ControlIn(ctx, d.setup(reqGetStatus, 0), 6)
	if err != nil {
		return StatusReport{}, usererr.Errorf("dfu", "GETSTATUS: %w", err)
	}
	r, err := ParseStatus(b)
	if err != nil {
		return StatusReport{}, err
	}
	d.notBefore = d.now().Add(r.PollTimeout)
	return r, nil
}

// GetState sends DFU_GETSTATE.
func (d *Device) GetState(ctx context.Context) (State, error) {
	b, err := d.ctl.ControlIn(ctx, d.setup(reqGetState, 0), 1)
	if err != nil {
		return 0, usererr.Errorf("dfu", "GETSTATE: %w", err)
	}
	if len(b) != 1 {
		return 0, usererr.Errorf("dfu", "GETSTATE answer of %d bytes, want 1", len(b))
	}
	return State(b[0]), nil
}

// ClearStatus sends DFU_CLRSTATUS, which takes a device out of dfuERROR.
func (d *Device) ClearStatus(ctx context.Context) error {
	if err := d.ctl.ControlOut(ctx, d.setup(reqClrStatus, 0), nil); err != nil {
		return usererr.Errorf("dfu", "CLRSTATUS: %w", err)
	}
	return nil
}

// Abort sends DFU_ABORT, which returns a device in dfuDNLOAD-IDLE or
// dfuUPLOAD-IDLE to dfuIDLE.
func (d *Device) Abort(ctx context.Context) error {
	if err := d.ctl.ControlOut(ctx, d.setup(reqAbort, 0), nil); err != nil {
		return usererr.Errorf("dfu", "ABORT: %w", err)
	}
	return nil
}

// Detach sends DFU_DETACH to a device in run-time mode. A device with
// bitWillDetach then re-enumerates by itself in DFU mode; for one without,
// Detach resets it when the Control is a Resetter. Either way the Control
// reaches the old device only: find the new one (see EnterDFU).
func (d *Device) Detach(ctx context.Context) error {
	timeout := uint16(min(d.fn.DetachTimeout/time.Millisecond, 0xffff))
	if timeout == 0 {
		timeout = 1000
	}
	if err := d.ctl.ControlOut(ctx, d.setup(reqDetach, timeout), nil); err != nil && !errors.Is(err, ErrDisconnected) {
		return usererr.Errorf("dfu", "DETACH: %w", err)
	}
	if !d.fn.WillDetach {
		r, ok := d.ctl.(Resetter)
		if !ok {
			return usererr.Errorf("dfu", "DETACH: the device waits for a USB reset and this connection cannot reset it; unplug and replug it within %v", time.Duration(timeout)*time.Millisecond)
		}
		if err := r.Reset(ctx); err != nil && !errors.Is(err, ErrDisconnected) {
			return usererr.Errorf("dfu", "reset after DETACH: %w", err)
		}
	}
	return nil
}

// statusError turns a report with an error status into a StatusError,
// reading the device's description of it and clearing the status so the
// device is back in dfuIDLE.
func (d *Device) statusError(ctx context.Context, op string, r StatusReport) error {
	e := &StatusError{Op: op, Status: r.Status, State: r.State}
	if r.StringIndex != 0 {
		if b, err := d.ctl.ControlIn(ctx, Setup{Type: Standard, Recipient: ToDevice, Request: reqGetDescriptor,
			Value: descString<<8 | uint16(r.StringIndex), Index: langEnglishUS}, 255); err == nil {
			e.Detail, _ = ParseString(b)
		}
	}
	if r.State == DFUError {
		_ = d.ClearStatus(ctx)
	}
	return e
}

// await polls GETSTATUS while the device is busy (dfuDNLOAD-SYNC,
// dfuDNBUSY, dfuMANIFEST-SYNC, dfuMANIFEST), and returns the first other
// report, or a StatusError when the device reports an error.
func (d *Device) await(ctx context.Context, op string) (StatusReport, error) {
	for {
		r, err := d.GetStatus(ctx)
		if err != nil {
			if errors.Is(err, ErrStall) {
				// A device that stalls GETSTATUS says why in the next.
				if r2, err2 := d.GetStatus(ctx); err2 == nil && r2.Status != StatusOK {
					return r2, d.statusError(ctx, op, r2)
				}
			}
			return r, usererr.Errorf("dfu", "%s: %w", op, err)
		}
		if r.Status != StatusOK || r.State == DFUError {
			return r, d.statusError(ctx, op, r)
		}
		switch r.State {
		case DFUDnloadSync, DFUDnbusy, DFUManifest:
			continue
		case DFUManifestSync:
			// Manifestation-tolerant devices pass through here twice:
			// before manifesting, and after, on their way to dfuIDLE.
			continue
		}
		return r, nil
	}
}

// Idle brings the device to dfuIDLE: an error status is cleared, a
// download or upload in progress is aborted.
func (d *Device) Idle(ctx context.Context) error {
	for range 4 {
		r, err := d.GetStatus(ctx)
		if err != nil {
			return err
		}
		switch r.State {
		case DFUIdle:
			return nil
		case DFUError:
			if err := d.ClearStatus(ctx); err != nil {
				return err
			}
		case DFUDnloadIdle, DFUUploadIdle:
			if err := d.Abort(ctx); err != nil {
				return err
			}
		case DFUDnloadSync, DFUDnbusy, DFUManifestSync, DFUManifest:
			// busy: poll again after its timeout
		default:
			return usererr.Errorf("", "%w: %s, not dfuIDLE", ErrState, r.State)
		}
	}
	return usererr.Errorf("", "%w: it does not reach dfuIDLE", ErrState)
}

// dnload sends one DFU_DNLOAD block and waits until the device has taken it.
func (d *Device) dnload(ctx context.Context, op string, block uint16, data []byte) (StatusReport, error) {
	if err := d.ctl.ControlOut(ctx, d.setup(reqDnload, block), data); err != nil {
		if errors.Is(err, ErrStall) {
			// A refused DNLOAD leaves the device in dfuERROR with a reason.
			if r, serr := d.GetStatus(ctx); serr == nil && r.Status != StatusOK {
				return r, d.statusError(ctx, op, r)
			}
		}
		return StatusReport{}, usererr.Errorf("dfu", "%s: %w", op, err)
	}
	return d.await(ctx, op)
}

// Download writes data to the selected alternate setting in blocks of the
// transfer size, then ends the download with an empty block and waits
// through manifestation. A device that is not manifestation tolerant
// resets at the end: Download returns nil once it stops answering.
// A DfuSe device numbers its blocks differently (block 0 carries
// commands): use DownloadAt there.
func (d *Device) Download(ctx context.Context, data []byte, progress Progress) error {
	if d.fn.DfuSe() {
		return usererr.Errorf("dfu", "%s: a DfuSe device is written at addresses (DownloadAt), not as one image", d.alt.Name)
	}
	if !d.fn.CanDownload {
		return usererr.Errorf("dfu", "%s: the device does not accept downloads (bitCanDnload is clear)", d.alt.Name)
	}
	if err := d.Idle(ctx); err != nil {
		return err
	}
	total := int64(len(data))
	block := uint16(0)
	for off := 0; off < len(data); off += d.fn.TransferSize {
		if err := ctx.Err(); err != nil {
			_ = d.Abort(context.WithoutCancel(ctx))
			return err
		}
		chunk := data[off:min(off+d.fn.TransferSize, len(data))]
		op := fmt.Sprintf("download block %d (%d of %d bytes)", block, off, total)
		if _, err := d.dnload(ctx, op, block, chunk); err != nil {
			return err
		}
		block++
		if progress != nil {
			progress(int64(off+len(chunk)), total)
		}
	}
	return d.finish(ctx, block)
}

// finish sends the empty DNLOAD that ends a download and waits through
// manifestation.
func (d *Device) finish(ctx context.Context, block uint16) error {
	if err := d.ctl.ControlOut(ctx, d.setup(reqDnload, block), nil); err != nil {
		return usererr.Errorf("dfu", "end of download: %w", err)
	}
	r, err := d.await(ctx, "manifestation")
	if err != nil {
		if !d.fn.ManifestationTolerant && errors.Is(err, ErrDisconnected) {
			return nil
		}
		return err
	}
	switch r.State {
	case DFUIdle, DFUManifestWaitReset:
		return nil
	}
	return usererr.Errorf("", "%w: %s after manifestation", ErrState, r.State)
}

// Upload reads the selected alternate setting's image from the device in
// blocks of the transfer size, until the device sends a short block or
// limit bytes have been read (limit 0: no limit other than 64 MiB). A
// DfuSe device is read with UploadAt.
func (d *Device) Upload(ctx context.Context, limit int, progress Progress) ([]byte, error) {
	if d.fn.DfuSe() {
		return nil, usererr.Errorf("dfu", "%s: a DfuSe device is read at addresses (UploadAt), not as one image", d.alt.Name)
	}
	if !d.fn.CanUpload {
		return nil, usererr.Errorf("dfu", "%s: the device does not allow uploads (bitCanUpload is clear)", d.alt.Name)
	}
	if limit <= 0 {
		limit = 64 << 20
	}
	if err := d.Idle(ctx); err != nil {
		return nil, err
	}
	data, err := d.upload(ctx, 0, limit, progress)
	if err != nil {
		return data, err
	}
	// A short block ended the upload and the device is back in dfuIDLE;
	// when limit ended it, the device waits in dfuUPLOAD-IDLE.
	if len(data) == limit {
		_ = d.Abort(ctx)
	}
	return data, nil
}

// upload reads blocks from block on until a short block or n bytes.
func (d *Device) upload(ctx context.Context, block uint16, n int, progress Progress) ([]byte, error) {
	var out []byte
	for len(out) < n {
		if err := ctx.Err(); err != nil {
			_ = d.Abort(context.WithoutCancel(ctx))
			return out, err
		}
		want := min(d.fn.TransferSize, n-len(out))
		b, err := d.ctl.ControlIn(ctx, d.setup(reqUpload, block), want)
		if err != nil {
			op := fmt.Sprintf("upload block %d (%d bytes read)", block, len(out))
			if errors.Is(err, ErrStall) {
				if r, serr := d.GetStatus(ctx); serr == nil && (r.Status != StatusOK || r.State == DFUError) {
					return out, d.statusError(ctx, op, r)
				}
			}
			return out, usererr.Errorf("dfu", "%s: %w", op, err)
		}
		if len(b) > want {
			return out, usererr.Errorf("dfu", "upload block %d: %d bytes for %d asked", block, len(b), want)
		}
		out = append(out, b...)
		block++
		if progress != nil {
			progress(int64(len(out)), int64(n))
		}
		if len(b) < want {
			break
		}
	}
	return out, nil
}
