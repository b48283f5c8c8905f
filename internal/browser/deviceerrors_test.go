package browser

import (
	"errors"
	"strings"
	"testing"

	"trustforge/internal/usererr"
)

func TestDeviceErrorsMatchTheirKind(t *testing.T) {
	serial := NewDeviceErrors("webserial", "Web Serial", "port", "board")
	usb := NewDeviceErrors("webusb", "WebUSB", "device", "device")
	for _, tt := range []struct {
		err   error
		kind  Failure
		text  string
		other Failure
	}{
		{serial.Unsupported, Unsupported, "webserial: this browser has no Web Serial API", Busy},
		{usb.Unsupported, Unsupported, "webusb: this browser has no WebUSB API", Disconnected},
		{serial.NoneChosen, NoneChosen, "webserial: no port was chosen", NeedsGesture},
		{usb.NoneChosen, NoneChosen, "webusb: no device was chosen", Unsupported},
		{serial.NeedsGesture, NeedsGesture, "webserial: choosing a port needs a click on the page first", NoneChosen},
		{serial.Disconnected, Disconnected, "webserial: the board was unplugged", Busy},
		{usb.Disconnected, Disconnected, "webusb: the device was unplugged", Busy},
		{usb.Busy, Busy, "webusb: the device is in use", Disconnected},
	} {
		wrapped := usererr.Errorf("webusb", "claiming interface 0: %w", tt.err)
		if !errors.Is(wrapped, tt.kind) || errors.Is(wrapped, tt.other) {
			t.Errorf("%v: matches %v %v, %v %v", tt.err, tt.kind, errors.Is(wrapped, tt.kind), tt.other, errors.Is(wrapped, tt.other))
		}
		if tt.err.Error() != tt.text {
			t.Errorf("Error() = %q, want %q", tt.err.Error(), tt.text)
		}
		if want := tt.text[strings.Index(tt.text, ": ")+2:]; usererr.Message(tt.err) != want {
			t.Errorf("Message = %q, want %q", usererr.Message(tt.err), want)
		}
	}
	if errors.Is(serial.Disconnected, usb.Disconnected) {
		t.Error("a port's unplugging is the USB device's own sentinel")
	}
	if got := usererr.Message(usererr.Errorf("webserial", "read: %w", serial.Disconnected)); got != "read: the board was unplugged" {
		t.Errorf("Message = %q", got)
	}
}
