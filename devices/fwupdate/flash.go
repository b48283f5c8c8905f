package fwupdate

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"time"

	"trustforge/devices/smp"
	"trustforge/internal/usererr"
)

// Errors of the flashing steps that callers branch on.
var (
	// ErrNotBooted: after the reset the board does not run the new image
	// (its bootloader refused it, or it reverted).
	ErrNotBooted = usererr.New("fwupdate", "the board did not boot the new image")
	// ErrNoAnswerAfterReset: the board did not answer within the boot
	// timeout after a reset.
	ErrNoAnswerAfterReset = usererr.New("fwupdate", "the board did not answer after the reset")
)

// DefaultBootTimeout bounds the wait for a board to answer after a reset.
const DefaultBootTimeout = 30 * time.Second

// bootPoll is how often WaitBoot asks a resetting board whether it is up.
const bootPoll = 250 * time.Millisecond

// Upload writes img into the board's upload slot for image number image,
// calling progress as the board confirms bytes. A board that holds part of
// the same image, because an earlier upload was cut (an unplug, a closed
// tab), answers with its offset and the upload goes on from there: call
// Upload again, on a new client after a replug, to resume.
func Upload(ctx context.Context, c *smp.Client, img []byte, image int, progress func(smp.UploadProgress)) (*smp.UploadResult, error) {
	res, err := c.Upload(ctx, img, &smp.UploadOptions{Image: image, Progress: progress})
	if err != nil {
		if smp.IsGroupError(err, smp.GroupImage, smp.ImageErrNoFreeSlot) || smp.IsRC(err, smp.RCBadState) {
			return res, &Refusal{Err: ErrPending, Reason: "the board keeps its other slot for an update in progress: confirm it or reset the board first"}
		}
		return res, err
	}
	return res, nil
}

// TestBoot marks the image with hash (its SHA256 TLV) to boot once at the
// next reset. If the new image is not confirmed while it runs, the board
// goes back to the current image at the reset after.
func TestBoot(ctx context.Context, c *smp.Client, hash []byte) error {
	slots, err := c.TestImage(ctx, hash)
	if err != nil {
		return usererr.Errorf("fwupdate", "marking the image for a test boot: %w", err)
	}
	for _, s := range slots {
		if bytes.Equal(s.Hash, hash) && s.Pending {
			return nil
		}
	}
	if slots == nil {
		return nil // the board did not list its new state
	}
	return usererr.Errorf("fwupdate", "the board does not list image %s as pending after the test request", short(hash))
}

// Reset asks the board to restart and waits until it answers again (see
// WaitBoot). The board's answer to the reset itself may be lost as it
// restarts: that is not an error.
func Reset(ctx context.Context, c *smp.Client, timeout time.Duration, booted func([]smp.SlotImage) bool) error {
	if err := c.Reset(ctx, false); err != nil && !errors.Is(err, smp.ErrTimeout) {
		return usererr.Errorf("fwupdate", "reset: %w", err)
	}
	return WaitBoot(ctx, c, timeout, booted)
}

// NothingPending reports whether no slot holds an image waiting for the
// next reset: the state of a board that has rebooted after a test or
// permanent swap was requested, whichever image it then runs. Pass it to
// Reset to wait for that reboot: a board answers for a moment after it
// accepts a reset.
func NothingPending(slots []smp.SlotImage) bool {
	for _, s := range slots {
		if s.Pending {
			return false
		}
	}
	return true
}

// WaitBoot waits, at most timeout (zero means DefaultBootTimeout), until
// the board answers its image list and, when booted is not nil, booted
// accepts the list.
func WaitBoot(ctx context.Context, c *smp.Client, timeout time.Duration, booted func([]smp.SlotImage) bool) error {
	if timeout <= 0 {
		timeout = DefaultBootTimeout
	}
	deadline := time.Now().Add(timeout)
	for {
		qctx, cancel := context.WithTimeout(ctx, min(time.Second, time.Until(deadline)))
		slots, err := c.ImageState(qctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case err == nil && (booted == nil || booted(slots)):
			return nil
		case err == nil, errors.Is(err, smp.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		default:
			var se *smp.Error
			if !errors.As(err, &se) {
				return usererr.Errorf("fwupdate", "waiting for the board after the reset: %w", err)
			}
		}
		if time.Now().After(deadline) {
			return usererr.Errorf("", "%w within %v", ErrNoAnswerAfterReset, timeout)
		}
		t := time.NewTimer(bootPoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// CheckRunning checks that the board runs the image with hash for image
// number image, and returns its slot entry.
func CheckRunning(ctx context.Context, c *smp.Client, image int, hash []byte) (smp.SlotImage, error) {
	slots, err := c.ImageState(ctx)
	if err != nil {
		return smp.SlotImage{}, usererr.Errorf("fwupdate", "reading the board's slots: %w", err)
	}
	s := &Summary{Slots: slots}
	run, ok := s.Running(image)
	if !ok {
		return smp.SlotImage{}, usererr.Errorf("", "%w: it runs no image %d", ErrNotBooted, image)
	}
	if !bytes.Equal(run.Hash, hash) {
		return run, usererr.Errorf("", "%w: it still runs version %s (%s), not %s", ErrNotBooted, run.Version, short(run.Hash), short(hash))
	}
	return run, nil
}

// Confirm makes the running image permanent, and checks that the board
// says so.
func Confirm(ctx context.Context, c *smp.Client, image int) (smp.SlotImage, error) {
	slots, err := c.ConfirmImage(ctx, nil)
	if err != nil {
		return smp.SlotImage{}, usererr.Errorf("fwupdate", "confirming the running image: %w", err)
	}
	if slots == nil {
		if slots, err = c.ImageState(ctx); err != nil {
			return smp.SlotImage{}, usererr.Errorf("fwupdate", "reading the board's slots: %w", err)
		}
	}
	s := &Summary{Slots: slots}
	run, ok := s.Running(image)
	if !ok || !run.Confirmed {
		return run, usererr.New("fwupdate", "the board does not list the running image as confirmed")
	}
	return run, nil
}

func short(hash []byte) string {
	h := hex.EncodeToString(hash)
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}
