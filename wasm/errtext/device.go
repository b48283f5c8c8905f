package errtext

import (
	"errors"

	"trustforge/devices/fwupdate"
	"trustforge/devices/webserial"
	"trustforge/devices/webusb"
	"trustforge/devices/wsboard"
	"trustforge/wasm/link"
)

// Device is [Describe] for errors of boards and their links, with what to
// do.
func Device(err error) string {
	switch {
	case errors.Is(err, webserial.ErrUnsupported), errors.Is(err, webusb.ErrUnsupported):
		return "This browser cannot reach boards: open the console in Chrome, Edge or Chromium."
	case errors.Is(err, webserial.ErrNoPortChosen), errors.Is(err, webusb.ErrNoDeviceChosen):
		return "No port was chosen."
	case errors.Is(err, webserial.ErrNeedsGesture), errors.Is(err, webusb.ErrNeedsGesture):
		return "The browser wants a click to show its chooser: click the button again."
	case errors.Is(err, webserial.ErrBusy), errors.Is(err, webusb.ErrBusy):
		return "The port is in use by another tab or program: close it there, or unplug and replug the board."
	case errors.Is(err, webserial.ErrDisconnected), errors.Is(err, webusb.ErrDisconnected), errors.Is(err, link.ErrUnplugged):
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
