package fwupdate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"trustforge/devices/smp"
	"trustforge/internal/usererr"
)

// Summary is what a board says about itself over SMP. Boards answer a
// subset of the commands (MCUboot serial recovery knows only a few), so a
// field the board did not answer stays empty and Notes says why.
type Summary struct {
	// Bootloader names the bootloader, e.g. "MCUboot"; empty when the
	// board does not say.
	Bootloader string
	// BootMode is MCUboot's mode of operation (BootModeUnknown when the
	// board does not say) and NoDowngrade whether it refuses downgrades.
	BootMode    smp.BootMode
	NoDowngrade bool
	// Params are the board's SMP buffers; zero when it does not say.
	Params smp.Params
	// OS is the board's uname-like information (all fields).
	OS string
	// Node is the board's name (its node name).
	Node string
	// Hardware is the board's hardware platform, as Zephyr's os info "i"
	// reports it (its board target, e.g. "nrf52840dk_nrf52840"). Releases
	// name the hardware they run on with the same string.
	Hardware string
	// Slots lists the images in the board's slots.
	Slots []smp.SlotImage
	// Notes lists what the board did not answer, for people.
	Notes []string
}

// ReadSummary asks the board about itself. Only the image list is
// required: a board that does not answer it is not a board this package
// can update.
func ReadSummary(ctx context.Context, c *smp.Client) (*Summary, error) {
	s := &Summary{BootMode: smp.BootModeUnknown}
	var err error
	if s.Slots, err = c.ImageState(ctx); err != nil {
		return nil, usererr.Errorf("fwupdate", "reading the board's slots: %w", err)
	}
	note := func(what string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var se *smp.Error
		if errors.As(err, &se) {
			s.Notes = append(s.Notes, fmt.Sprintf("%s: %s", what, se.Name()))
			return nil
		}
		if errors.Is(err, smp.ErrTimeout) {
			s.Notes = append(s.Notes, what+": no answer")
			return nil
		}
		return usererr.Errorf("fwupdate", "%s: %w", what, err)
	}
	if s.Bootloader, err = c.Bootloader(ctx); err != nil {
		if err := note("bootloader", err); err != nil {
			return nil, err
		}
	} else if s.Bootloader == "MCUboot" {
		if s.BootMode, s.NoDowngrade, err = c.BootloaderMode(ctx); err != nil {
			if err := note("boot mode", err); err != nil {
				return nil, err
			}
		}
	}
	if s.Params, err = c.Params(ctx); err != nil {
		if err := note("SMP parameters", err); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		format, what string
		dst          *string
	}{
		{"i", "hardware platform", &s.Hardware},
		{"n", "node name", &s.Node},
		{"a", "OS information", &s.OS},
	} {
		out, err := c.Info(ctx, f.format)
		if err != nil {
			if err := note(f.what, err); err != nil {
				return nil, err
			}
			continue
		}
		*f.dst = strings.TrimSpace(out)
	}
	return s, nil
}

// Running returns the image the board runs for image number image (0 for
// the application), from its slots.
func (s *Summary) Running(image int) (smp.SlotImage, bool) {
	for _, sl := range s.Slots {
		if sl.Image == image && sl.Active {
			return sl, true
		}
	}
	return smp.SlotImage{}, false
}

// Slot returns the image in a slot of image number image.
func (s *Summary) Slot(image, slot int) (smp.SlotImage, bool) {
	for _, sl := range s.Slots {
		if sl.Image == image && sl.Slot == slot {
			return sl, true
		}
	}
	return smp.SlotImage{}, false
}
