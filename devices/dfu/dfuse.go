package dfu

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"trustforge/internal/usererr"
)

// DfuSe commands, sent as DNLOAD block 0 (ST UM0424, AN3156).
const (
	dfuseGetCommands   = 0x00
	dfuseSetAddress    = 0x21
	dfuseErase         = 0x41
	dfuseReadUnprotect = 0x92
)

// ErrNotDfuSe is returned by DfuSe operations on a device whose functional
// descriptor does not announce DfuSe (bcdDFUVersion 0x011a).
var ErrNotDfuSe = usererr.New("dfu", "the device does not speak DfuSe")

// ErrMismatch is returned by Verify when the device holds other bytes.
var ErrMismatch = usererr.New("dfu", "read back differs from what was written")

// MismatchError is a read-back that differs from what was written. It
// wraps [ErrMismatch].
type MismatchError struct {
	// Where says where the first difference is, in words: "first at
	// 0x08000010 (device 0x00, file 0x01)".
	Where string
}

func (e *MismatchError) Error() string { return ErrMismatch.Error() + ": " + e.Where }

// UserMessage is the error for people: what differs, and where.
func (e *MismatchError) UserMessage() string { return usererr.Message(ErrMismatch) + ": " + e.Where }

func (e *MismatchError) Unwrap() error { return ErrMismatch }

// Layout returns the memory layout of the selected alternate setting, for a
// DfuSe device.
func (d *Device) Layout() (*Layout, error) {
	if !d.fn.DfuSe() {
		return nil, ErrNotDfuSe
	}
	return d.alt.Layout()
}

func (d *Device) command(ctx context.Context, op string, cmd byte, addr *uint32) error {
	if !d.fn.DfuSe() {
		return usererr.Errorf("dfu", "%s: %w", op, ErrNotDfuSe)
	}
	b := []byte{cmd}
	if addr != nil {
		b = binary.LittleEndian.AppendUint32(b, *addr)
	}
	r, err := d.dnload(ctx, op, 0, b)
	if err != nil {
		return err
	}
	if r.State != DFUDnloadIdle {
		return usererr.Errorf("", "%w: %s after %s", ErrState, r.State, op)
	}
	return nil
}

// GetCommands returns the DfuSe commands the device supports (UPLOAD of
// block 0): 0x00, 0x21, 0x41 and, on most parts, 0x92.
func (d *Device) GetCommands(ctx context.Context) ([]byte, error) {
	if !d.fn.DfuSe() {
		return nil, ErrNotDfuSe
	}
	if err := d.Idle(ctx); err != nil {
		return nil, err
	}
	b, err := d.upload(ctx, 0, 16, nil)
	if err != nil {
		return nil, err
	}
	_ = d.Idle(ctx)
	if len(b) == 0 || b[0] != dfuseGetCommands {
		return nil, usererr.Errorf("dfu", "GET COMMANDS answer % x does not start with 0x00", b)
	}
	return b, nil
}

// SetAddress sets the DfuSe address pointer.
func (d *Device) SetAddress(ctx context.Context, addr uint32) error {
	return d.command(ctx, fmt.Sprintf("set address %#08x", addr), dfuseSetAddress, &addr)
}

// ErasePage erases the sector (page) holding addr.
func (d *Device) ErasePage(ctx context.Context, addr uint32) error {
	return d.command(ctx, fmt.Sprintf("erase %#08x", addr), dfuseErase, &addr)
}

// MassErase erases the whole memory of the alternate setting.
func (d *Device) MassErase(ctx context.Context) error {
	return d.command(ctx, "mass erase", dfuseErase, nil)
}

// ReadUnprotect removes read-out protection, which erases the whole flash;
// the device then resets and re-enumerates.
func (d *Device) ReadUnprotect(ctx context.Context) error {
	err := d.command(ctx, "read unprotect", dfuseReadUnprotect, nil)
	if errors.Is(err, ErrDisconnected) {
		return nil
	}
	return err
}

// DownloadAt writes data at addr: it erases each erasable sector the data
// touches (refusing sectors that are not writable), then downloads in
// blocks of the transfer size with DfuSe block numbers (block n lands at
// addr + (n-2) × transfer size). Progress counts erase as the first half
// when there is any.
func (d *Device) DownloadAt(ctx context.Context, addr uint32, data []byte, progress Progress) error {
	l, err := d.Layout()
	if err != nil {
		return err
	}
	if !d.fn.CanDownload {
		return usererr.Errorf("dfu", "%s: the device does not accept downloads (bitCanDnload is clear)", l.Name)
	}
	secs, err := l.Covering(addr, len(data))
	if err != nil {
		return err
	}
	var erase []Sector
	for _, s := range secs {
		if !s.Writable {
			return usererr.Errorf("dfu", "%s: sector %#08x is not writable", l.Name, s.Addr)
		}
		if s.Erasable {
			erase = append(erase, s)
		}
	}
	if err := d.Idle(ctx); err != nil {
		return err
	}
	var eraseBytes int64
	for _, s := range erase {
		eraseBytes += int64(s.Size)
	}
	total := eraseBytes + int64(len(data))
	var done int64
	for _, s := range erase {
		if err := ctx.Err(); err != nil {
			_ = d.Abort(context.WithoutCancel(ctx))
			return err
		}
		if err := d.ErasePage(ctx, s.Addr); err != nil {
			return err
		}
		done += int64(s.Size)
		if progress != nil {
			progress(done, total)
		}
	}
	return d.write(ctx, addr, data, func(n int64) {
		if progress != nil {
			progress(done+n, total)
		}
	})
}

// write downloads data at addr without erasing, resetting the address
// pointer whenever block numbers would run out.
func (d *Device) write(ctx context.Context, addr uint32, data []byte, wrote func(int64)) error {
	xfer := d.fn.TransferSize
	const maxBlocks = 0xffff - 2
	for off := 0; off < len(data); {
		base := addr + uint32(off)
		if err := d.SetAddress(ctx, base); err != nil {
			return err
		}
		for block := 2; block < 2+maxBlocks && off < len(data); block++ {
			if err := ctx.Err(); err != nil {
				_ = d.Abort(context.WithoutCancel(ctx))
				return err
			}
			chunk := data[off:min(off+xfer, len(data))]
			op := fmt.Sprintf("write %#08x (%d of %d bytes)", addr+uint32(off), off, len(data))
			if _, err := d.dnload(ctx, op, uint16(block), chunk); err != nil {
				return err
			}
			off += len(chunk)
			wrote(int64(off))
		}
	}
	return nil
}

// UploadAt reads n bytes at addr.
func (d *Device) UploadAt(ctx context.Context, addr uint32, n int, progress Progress) ([]byte, error) {
	l, err := d.Layout()
	if err != nil {
		return nil, err
	}
	if !d.fn.CanUpload {
		return nil, usererr.Errorf("dfu", "%s: the device does not allow uploads (bitCanUpload is clear)", l.Name)
	}
	secs, err := l.Covering(addr, n)
	if err != nil {
		return nil, err
	}
	for _, s := range secs {
		if !s.Readable {
			return nil, usererr.Errorf("dfu", "%s: sector %#08x is not readable", l.Name, s.Addr)
		}
	}
	if err := d.Idle(ctx); err != nil {
		return nil, err
	}
	xfer := d.fn.TransferSize
	maxRun := (0xffff - 2) * xfer
	var out []byte
	for len(out) < n {
		if err := d.SetAddress(ctx, addr+uint32(len(out))); err != nil {
			return out, err
		}
		// An upload starts from dfuIDLE.
		if err := d.Abort(ctx); err != nil {
			return out, err
		}
		run := min(n-len(out), maxRun)
		before := len(out)
		b, err := d.upload(ctx, 2, run, func(done, _ int64) {
			if progress != nil {
				progress(int64(before)+done, int64(n))
			}
		})
		out = append(out, b...)
		if err != nil {
			return out, err
		}
		if len(b) < run {
			return out, usererr.Errorf("dfu", "read %#08x: the device sent %d of %d bytes", addr, len(out), n)
		}
	}
	_ = d.Abort(ctx)
	return out, nil
}

// Verify reads back len(want) bytes at addr and compares them.
func (d *Device) Verify(ctx context.Context, addr uint32, want []byte, progress Progress) error {
	got, err := d.UploadAt(ctx, addr, len(want), progress)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		return &MismatchError{Where: fmt.Sprintf("first at %#08x (device %#02x, file %#02x)", addr+uint32(i), got[i], want[i])}
	}
	return nil
}

// Leave makes a DfuSe device leave DFU mode and jump to the application at
// addr (the address pointer is set first; on STM32 system bootloaders the
// application's vector table). The device disconnects.
func (d *Device) Leave(ctx context.Context, addr uint32) error {
	if err := d.Idle(ctx); err != nil {
		return err
	}
	if err := d.SetAddress(ctx, addr); err != nil {
		return err
	}
	if err := d.ctl.ControlOut(ctx, d.setup(reqDnload, 0), nil); err != nil {
		if errors.Is(err, ErrDisconnected) {
			return nil
		}
		return usererr.Errorf("dfu", "leave: %w", err)
	}
	r, err := d.GetStatus(ctx)
	if err != nil {
		if errors.Is(err, ErrDisconnected) {
			return nil
		}
		return usererr.Errorf("dfu", "leave: %w", err)
	}
	if r.Status != StatusOK {
		return d.statusError(ctx, "leave", r)
	}
	return nil
}
