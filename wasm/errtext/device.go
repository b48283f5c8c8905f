package errtext

import (
	"errors"

	"trustforge/devices/fwupdate"
	"trustforge/devices/webusb"
	"trustforge/devices/wsboard"
	"trustforge/internal/browser"
	"trustforge/wasm/link"
)

// Device is [Describe] for errors of boards and their links, with what to
// do.
func Device(err error) string {
	switch {
	case errors.Is(err, browser.Unsupported):
		return "This browser cannot reach boards: open the console in Chrome, Edge or Chromium."
	case errors.Is(err, browser.NoneChosen):
		return "No port was chosen."
	case errors.Is(err, browser.NeedsGesture):
		return "The browser wants a click to show its chooser: click the button again."
	case errors.Is(err, browser.Busy):
		return "The port is in use by another tab or program: close it there, or unplug and replug the board."
	case errors.Is(err, browser.Disconnected), errors.Is(err, link.ErrUnplugged):
		return "The board was unplugged: plug it back in."
	case errors.Is(err, webusb.ErrNoInterface):
		return "This USB device has no interface the console can speak SMP over."
	case errors.Is(err, wsboard.ErrTakenOver):
		return "Another tab took over the simulated board: connect again to take it back."
	case errors.Is(err, link.ErrNotConnected):
		return "Connect a board first."
	}
	var ref *fwupdate.Refusal
	if errors.As(err, &ref) {
		return UpperFirst(ref.Reason) + "."
	}
	return Describe(err)
}
