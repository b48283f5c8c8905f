package esprom

import (
	"context"
	"time"

	"trustforge/internal/usererr"
)

// ResetMode selects how Connect gets the chip into its ROM loader.
type ResetMode int

const (
	// ResetClassic drives the usual auto-reset circuit of USB-UART
	// bridges: RTS pulls EN (reset) low, DTR pulls BOOT low.
	ResetClassic ResetMode = iota
	// ResetUSBJTAG drives the USB-Serial-JTAG peripheral of chips with
	// native USB (ESP32-C3, -S3, -C6, -H2), which reads the two lines as
	// the same signals with its own timing.
	ResetUSBJTAG
	// ResetNone assumes the chip is already in download mode (BOOT held by
	// hand, or a port without modem lines).
	ResetNone
)

// EnterBootloader resets the chip into its ROM loader through the
// transport's modem lines. It does nothing when the transport has none.
func (c *Client) EnterBootloader(ctx context.Context, mode ResetMode) error {
	l, ok := c.t.(Lines)
	if !ok || mode == ResetNone {
		return nil
	}
	type step struct {
		dtr, rts bool
		wait     time.Duration
	}
	var seq []step
	switch mode {
	case ResetClassic:
		seq = []step{
			{false, true, 100 * time.Millisecond}, // EN low: hold in reset
			{true, false, 50 * time.Millisecond},  // EN high, BOOT low: boots into download mode
			{false, false, 0},                     // release BOOT
		}
	case ResetUSBJTAG:
		seq = []step{
			{false, false, 100 * time.Millisecond},
			{true, false, 100 * time.Millisecond}, // BOOT low
			{false, true, 100 * time.Millisecond}, // reset, BOOT held by the peripheral's latch
			{false, false, 0},
		}
	default:
		return usererr.Errorf("esprom", "unknown reset mode %d", mode)
	}
	for _, s := range seq {
		if err := l.SetLines(ctx, s.dtr, s.rts); err != nil {
			return usererr.Errorf("esprom", "driving DTR/RTS: %w", err)
		}
		if s.wait > 0 {
			if err := c.opts.Sleep(ctx, s.wait); err != nil {
				return err
			}
		}
	}
	c.drain()
	return nil
}

// HardReset pulses EN through RTS with BOOT released, so the chip boots
// its flash. Without modem lines it does nothing (FLASH_END with reboot is
// the way out then).
func (c *Client) HardReset(ctx context.Context) error {
	l, ok := c.t.(Lines)
	if !ok {
		return nil
	}
	if err := l.SetLines(ctx, false, true); err != nil {
		return err
	}
	if err := c.opts.Sleep(ctx, 100*time.Millisecond); err != nil {
		return err
	}
	return l.SetLines(ctx, false, false)
}

// Connect enters the bootloader, syncs and detects the chip. When the first
// reset mode gets no answer it tries the other one, as boards differ.
func (c *Client) Connect(ctx context.Context, mode ResetMode) (*ChipInfo, error) {
	modes := []ResetMode{mode}
	if _, ok := c.t.(Lines); ok && mode != ResetNone {
		other := ResetUSBJTAG
		if mode == ResetUSBJTAG {
			other = ResetClassic
		}
		modes = append(modes, other)
	}
	var err error
	for _, m := range modes {
		if err = c.EnterBootloader(ctx, m); err != nil {
			return nil, err
		}
		if err = c.Sync(ctx, 0); err == nil {
			return c.Detect(ctx)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, err
}
