package updateflow

import (
	"context"
	"errors"
	"time"

	"trustforge/devices/dfu"
	"trustforge/internal/usererr"
)

// ErrNotProtected reports a part whose read-out protection did not take:
// its option bytes do not read back at level 1, or its flash can still be
// read.
var ErrNotProtected = usererr.New("updateflow", "the part's read-out protection did not take")

// protectTimeout bounds the wait for the part to come back after it reset
// to apply its option bytes.
const protectTimeout = 15 * time.Second

// Protect sets the part's read-out protection to level 1 once Write has
// written and read back the image, and checks that it took: the option
// bytes read back at level 1 and a read of the image's first bytes is
// refused. The part resets to apply its option bytes and comes back in its
// bootloader, which cannot be asked to start the application at level 1:
// the application starts at the part's next power-on from its flash.
// Level 1 is only left by erasing the whole flash: the caller asks for an
// explicit confirmation before calling it.
func (k *DfuSe) Protect(ctx context.Context) (string, error) {
	if k.alt.Functional == nil {
		return "", usererr.New("updateflow", "read-out protection is set after the image is written")
	}
	ctl, desc, err := takeDFU(ctx, k.Link, &k.ctl)
	if err != nil {
		return "", err
	}
	ob, ok := optionBytes(desc)
	if !ok {
		closeControl(ctl)
		return "", usererr.New("updateflow", "the part's bootloader lists no option bytes memory: its read-out protection cannot be set from here")
	}
	d, err := dfu.Open(ctx, ctl, ob)
	if err == nil {
		err = d.SetRDP(ctx, dfu.RDP1)
	}
	closeControl(ctl)
	if err != nil {
		return "", usererr.Errorf("updateflow", "setting RDP level 1: %w", err)
	}
	// The part resets to load its option bytes: find it again and read
	// them. Until it has reset it may still answer as before.
	wctx, cancel := context.WithTimeout(ctx, protectTimeout)
	defer cancel()
	var last error
	for {
		if lvl, err := k.readProtection(wctx); err == nil && lvl == dfu.RDP1 {
			break
		} else if err != nil {
			last = err
		} else {
			last = usererr.Errorf("", "%w: its option bytes read back %v", ErrNotProtected, lvl)
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if wctx.Err() != nil {
			return "", usererr.Errorf("updateflow", "the part did not come back at RDP level 1 within %v: %w", protectTimeout, last)
		}
		if err := pause(wctx, 50*time.Millisecond); err != nil && ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
	// Reads of the flash are now refused, as on real parts.
	ctl, _, err = k.Link.DFU(ctx)
	if err != nil {
		return "", err
	}
	defer closeControl(ctl)
	fd, err := dfu.Open(ctx, ctl, k.alt)
	if err != nil {
		return "", err
	}
	if _, err := fd.UploadAt(ctx, k.addr, 16, nil); err == nil {
		return "", usererr.Errorf("", "%w: the bootloader still reads the flash at %#08x", ErrNotProtected, k.addr)
	} else if errors.Is(err, dfu.ErrDisconnected) {
		return "", err
	}
	return "read-out protection is RDP level 1: the bootloader now refuses to read the flash; the part starts the application at its next power-on", nil
}

// readProtection finds the part and reads its RDP level.
func (k *DfuSe) readProtection(ctx context.Context) (dfu.RDPLevel, error) {
	ctl, desc, err := k.Link.DFU(ctx)
	if err != nil {
		return 0, err
	}
	defer closeControl(ctl)
	ob, ok := optionBytes(desc)
	if !ok {
		return 0, usererr.New("updateflow", "the part's bootloader lists no option bytes memory")
	}
	d, err := dfu.Open(ctx, ctl, ob)
	if err != nil {
		return 0, err
	}
	return d.ReadRDP(ctx)
}

func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
