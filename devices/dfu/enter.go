package dfu

import (
	"context"
	"time"

	"trustforge/internal/usererr"
)

// Finder looks for the device again after it re-enumerated, as a new USB
// device (in a browser, a new USBDevice). It returns an error wrapping
// ErrDisconnected while the device is not there yet.
type Finder func(ctx context.Context) (Control, error)

// ErrNoDFU is returned when a device has no DFU interface.
var ErrNoDFU = usererr.New("dfu", "the device has no DFU interface")

// EnterDFU returns the device behind c in DFU mode. A device already in DFU
// mode is returned as it is; one in run-time mode is sent DFU_DETACH (and
// reset when it will not detach itself), and find is called until the
// re-enumerated device answers in DFU mode, for at most its detach
// timeout plus ten seconds.
func EnterDFU(ctx context.Context, c Control, find Finder) (Control, *Description, error) {
	desc, err := Describe(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	alts := desc.DFU()
	if len(alts) == 0 {
		return nil, nil, ErrNoDFU
	}
	rt := alts[0]
	if !rt.Runtime() {
		return c, desc, nil
	}
	if rt.Functional == nil {
		return nil, nil, usererr.Errorf("", "%w: the run-time interface has no functional descriptor", ErrDescriptor)
	}
	d, err := Open(ctx, c, rt)
	if err != nil {
		return nil, nil, err
	}
	if err := d.Detach(ctx); err != nil {
		return nil, nil, err
	}
	if cl, ok := c.(Closer); ok {
		_ = cl.Close()
	}
	wait := rt.Functional.DetachTimeout + 10*time.Second
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		n, err := find(ctx)
		if err == nil {
			desc, err := Describe(ctx, n)
			if err == nil && desc.Mode() == "dfu" {
				return n, desc, nil
			}
			if err == nil {
				err = usererr.Errorf("", "still in %s mode", desc.Mode())
			}
			if cl, ok := n.(Closer); ok {
				_ = cl.Close()
			}
		}
		// Otherwise keep looking: a device half way through enumeration
		// can fail in many ways.
		select {
		case <-ctx.Done():
			return nil, nil, usererr.Errorf("dfu", "the device did not come back in DFU mode within %v after DETACH: %w", wait, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
