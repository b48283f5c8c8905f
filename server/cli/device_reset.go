package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"trustforge/devices/smp"
)

// resetSettle is how long a board takes to act on a reset it has answered:
// Zephyr waits 250 ms.
const resetSettle = 300 * time.Millisecond

// reset resets the board, waits for it to answer again and says what it
// runs; a pending image that did not boot is an error, with the reason the
// bootloader printed.
func (d *device) reset(ctx context.Context) error {
	before, _ := d.c.ImageState(ctx) // a board in a bad state may not answer
	mark := d.console.mark()
	if err := d.c.Reset(ctx, false); err != nil {
		return err
	}
	if d.f.noWait {
		fmt.Fprintln(d.env.Stdout, "reset sent")
		return nil
	}
	select {
	case <-time.After(resetSettle):
	case <-ctx.Done():
		return ctx.Err()
	}
	var (
		after []smp.SlotImage
		err   error
	)
	deadline := time.Now().Add(d.f.boot)
	for {
		after, err = d.c.ImageState(ctx)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
		if errors.Is(err, smp.ErrLinkDown) {
			// The port went away with the reset; wait for it to return.
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			d.reopen(ctx)
		}
	}
	if err != nil {
		return fmt.Errorf("device: the board did not answer after the reset: %w", err)
	}
	return d.reportReset(before, after, d.console.since(mark))
}

func find(imgs []smp.SlotImage, pick func(smp.SlotImage) bool) *smp.SlotImage {
	for i := range imgs {
		if pick(imgs[i]) {
			return &imgs[i]
		}
	}
	return nil
}

func (d *device) reportReset(before, after []smp.SlotImage, console []string) error {
	w := d.env.Stdout
	pending := find(before, func(s smp.SlotImage) bool { return s.Pending })
	testing := find(before, func(s smp.SlotImage) bool { return s.Active && !s.Confirmed })
	active := find(after, func(s smp.SlotImage) bool { return s.Active })
	if active == nil {
		fmt.Fprintln(w, "board reset: no valid image boots; the board waits in serial recovery (upload an image, then reset)")
		if len(console) > 0 {
			fmt.Fprintf(w, "bootloader: %s\n", strings.Join(errorLines(console), "; "))
		}
		return nil
	}
	running := fmt.Sprintf("%s (hash %s)", active.Version, shortHash(active.Hash))
	switch {
	case pending != nil && bytes.Equal(pending.Hash, active.Hash) && !active.Confirmed:
		fmt.Fprintf(w, "board reset: running %s under test: `image confirm` keeps it; the next reset goes back to the previous image\n", running)
	case pending != nil && bytes.Equal(pending.Hash, active.Hash):
		fmt.Fprintf(w, "board reset: running %s for good\n", running)
	case pending != nil:
		why := "the bootloader gave no reason on the console"
		if lines := errorLines(console); len(lines) > 0 {
			why = "bootloader: " + strings.Join(lines, "; ")
		}
		return fmt.Errorf("device: %w: %s (hash %s) did not boot and the board still runs %s\n%s",
			errBoardRefused, pending.Version, shortHash(pending.Hash), running, why)
	case testing != nil && !bytes.Equal(testing.Hash, active.Hash):
		fmt.Fprintf(w, "board reset: reverted to %s: the image under test, %s, was not confirmed\n", running, testing.Version)
	default:
		fmt.Fprintf(w, "board reset: running %s\n", running)
	}
	return nil
}

// errorLines picks the error lines of a boot log ("E: ..." in MCUboot's).
func errorLines(console []string) []string {
	var out []string
	for _, l := range console {
		if t, ok := strings.CutPrefix(l, "E: "); ok {
			out = append(out, t)
		}
	}
	return out
}
