// Package webserial reaches boards through the browser's Web Serial API
// (navigator.serial): the ports a person picks in Chrome's chooser, and the
// ports already granted to the console's origin, by an earlier choice or by
// the SerialAllowAllPortsForUrls and SerialAllowUsbDevicesForUrls enterprise
// policies that production lines set.
//
// An open Port is an smp.Transport: a read loop pulls the port's byte stream
// in large chunks from a goroutine, writes are awaited one by one, and Close
// cancels the stream, releases its locks and closes the port, as the Web
// Serial specification requires. When the board is unplugged, reads and
// writes fail with ErrDisconnected and the port's Disconnected channel
// closes; Ports.Watch reports the port coming back.
//
// The JavaScript side lives in serial_js.go, behind the js && wasm build
// tags, through github.com/hack-pad/safejs; elsewhere every call fails with
// ErrUnsupported, so the packages that use it build and test natively.
//
// Never call these functions from a JavaScript callback (a go-app event
// handler runs on one): they await promises, and awaiting there hangs the
// page. Call them from a goroutine, such as one started by ctx.Async.
package webserial

import (
	"fmt"

	"trustforge/internal/browser"
	"trustforge/internal/usererr"
)

// errs are webserial's errors of the kinds both device APIs report
// ([browser.Failure]): a call fails with one that matches
// browser.Unsupported (Firefox, Safari, a page not served over https or
// localhost, or not a browser at all), browser.NoneChosen (the chooser
// closed without a pick), browser.NeedsGesture (requestPort without a
// recent click or key press), browser.Disconnected (the board unplugged)
// or browser.Busy (open in another tab or program, or still locked by an
// earlier reader or writer).
var errs = browser.NewDeviceErrors("webserial", "Web Serial", "port", "board")

// ErrClosed is returned by calls on a port that was closed.
var ErrClosed = usererr.New("webserial", "port closed")

// Filter narrows the ports the chooser offers to USB devices with these
// identifiers. A zero field matches any value; ProductID needs VendorID.
type Filter struct {
	VendorID  uint16
	ProductID uint16
}

// Info identifies a port, as SerialPort.getInfo() reports it.
type Info struct {
	// USB is true when the port is a USB device; VendorID and ProductID
	// are then its identifiers.
	USB       bool
	VendorID  uint16
	ProductID uint16
	// BluetoothService is the service class UUID of a Bluetooth RFCOMM
	// port, or empty.
	BluetoothService string
}

// String describes the port for people, e.g. "USB 2fe3:0100".
func (i Info) String() string {
	switch {
	case i.USB:
		return fmt.Sprintf("USB %04x:%04x", i.VendorID, i.ProductID)
	case i.BluetoothService != "":
		return "Bluetooth " + i.BluetoothService
	}
	return "serial port"
}

// Parity is a serial parity mode.
type Parity string

// Parity modes.
const (
	ParityNone Parity = "none"
	ParityEven Parity = "even"
	ParityOdd  Parity = "odd"
)

// DefaultBufferSize is the stream buffer Options asks for when BufferSize is
// zero: large, so that a fast link is read in few, large chunks (each read
// crosses from JavaScript into Go, which costs about 0.1 ms).
const DefaultBufferSize = 64 << 10

// Options are the line settings of Port.Open. The zero value, with a
// BaudRate, is 8N1 with no flow control.
type Options struct {
	// BaudRate is the line speed in bits per second. Required.
	BaudRate int
	// DataBits is 7 or 8. Zero means 8.
	DataBits int
	// StopBits is 1 or 2. Zero means 1.
	StopBits int
	// Parity is "none", "even" or "odd". Empty means none.
	Parity Parity
	// HardwareFlowControl turns on RTS/CTS flow control.
	HardwareFlowControl bool
	// BufferSize is the size of the read and write buffers the browser
	// keeps. Zero means DefaultBufferSize.
	BufferSize int
}

func (o Options) validate() error {
	switch {
	case o.BaudRate <= 0:
		return usererr.Errorf("webserial", "baud rate %d", o.BaudRate)
	case o.DataBits != 0 && o.DataBits != 7 && o.DataBits != 8:
		return usererr.Errorf("webserial", "%d data bits (want 7 or 8)", o.DataBits)
	case o.StopBits != 0 && o.StopBits != 1 && o.StopBits != 2:
		return usererr.Errorf("webserial", "%d stop bits (want 1 or 2)", o.StopBits)
	case o.Parity != "" && o.Parity != ParityNone && o.Parity != ParityEven && o.Parity != ParityOdd:
		return usererr.Errorf("webserial", "parity %q", o.Parity)
	case o.BufferSize < 0 || o.BufferSize > 16<<20:
		return usererr.Errorf("webserial", "buffer size %d", o.BufferSize)
	}
	return nil
}

// Signals are the output control lines of Port.SetSignals. A nil field is
// left as it is.
type Signals struct {
	DataTerminalReady *bool
	RequestToSend     *bool
	Break             *bool
}

// EventType is the kind of a port event.
type EventType string

// Port events.
const (
	// Connected: a granted port's device was plugged in.
	Connected EventType = "connect"
	// Disconnected: a granted port's device was unplugged.
	Disconnected EventType = "disconnect"
)

// Event is a port being plugged in or unplugged.
type Event struct {
	Type EventType
	Port *Port
}
