package browser

import "trustforge/internal/usererr"

// A Failure is a kind of failure both device APIs report. A device
// package's error of a kind is worded for its own API and objects and
// matches the kind: errors.Is(err, browser.Disconnected) holds for an
// unplugged serial port and an unplugged USB device alike.
type Failure int

// The kinds of failure.
const (
	// Unsupported: the browser has no such API, or the code does not run
	// in a browser.
	Unsupported Failure = iota + 1
	// NoneChosen: the person closed the chooser without picking.
	NoneChosen
	// NeedsGesture: the chooser was asked for without a recent click or
	// key press (transient user activation).
	NeedsGesture
	// Disconnected: the port or device was unplugged.
	Disconnected
	// Busy: another tab or program holds it.
	Busy
)

var failureText = [...]string{
	Unsupported:  "this browser cannot reach boards",
	NoneChosen:   "nothing was chosen",
	NeedsGesture: "the chooser needs a click on the page first",
	Disconnected: "the board was unplugged",
	Busy:         "in use by another tab or program",
}

func (f Failure) Error() string {
	if f <= 0 || int(f) >= len(failureText) {
		return "device failure"
	}
	return failureText[f]
}

// DeviceErrors are a device package's errors of each [Failure], in its
// own words.
type DeviceErrors struct {
	pkg                                                       string
	Unsupported, NoneChosen, NeedsGesture, Disconnected, Busy error
}

// NewDeviceErrors words the errors of package pkg, whose API people know
// as api ("Web Serial"), whose objects are called noun ("port") and whose
// unplugged object is called unplugged ("board").
func NewDeviceErrors(pkg, api, noun, unplugged string) DeviceErrors {
	word := func(f Failure, text string) error { return &deviceError{kind: f, err: usererr.New(pkg, text)} }
	return DeviceErrors{
		pkg:          pkg,
		Unsupported:  word(Unsupported, "this browser has no "+api+" API"),
		NoneChosen:   word(NoneChosen, "no "+noun+" was chosen"),
		NeedsGesture: word(NeedsGesture, "choosing a "+noun+" needs a click on the page first"),
		Disconnected: word(Disconnected, "the "+unplugged+" was unplugged"),
		Busy:         word(Busy, "the "+noun+" is in use"),
	}
}

// deviceError is a package's error of a kind.
type deviceError struct {
	kind Failure
	err  error
}

func (e *deviceError) Error() string        { return e.err.Error() }
func (e *deviceError) UserMessage() string  { return usererr.Message(e.err) }
func (e *deviceError) Is(target error) bool { return target == e.kind }
