// Package webusb reaches USB devices through the browser's WebUSB API
// (navigator.usb): the devices a person picks in Chrome's chooser, and the
// devices already granted to the console's origin, by an earlier choice or
// by the WebUsbAllowDevicesForUrls enterprise policy that production lines
// set.
//
// A Device is opened, configured and its interface claimed; control and
// bulk transfers then move bytes, and Devices.Watch reports devices
// plugged in and unplugged. The USB DFU protocol (devices/dfu) uses
// control transfers; Bulk turns a vendor-specific interface with a bulk
// endpoint pair into an smp.Transport, for boards that expose SMP over USB
// that way.
//
// The JavaScript side lives in usb_js.go, behind the js && wasm build tags,
// through github.com/hack-pad/safejs; elsewhere every call fails with
// ErrUnsupported. As with every promise-based API, call these functions from
// a goroutine (ctx.Async), never from a JavaScript callback.
package webusb

import (
	"fmt"

	"trustforge/internal/browser"
	"trustforge/internal/usererr"
)

// errs are webusb's errors of the kinds both device APIs report
// ([browser.Failure]): a call fails with one that matches
// browser.Unsupported (no WebUSB in this browser, or not a browser at
// all), browser.NoneChosen (the chooser dismissed), browser.NeedsGesture
// (requestDevice without a recent click or key press),
// browser.Disconnected (the device unplugged) or browser.Busy (another
// program or tab holds the device or its interface).
var errs = browser.NewDeviceErrors("webusb", "WebUSB", "device", "device")

// Errors of WebUSB alone.
var (
	// ErrStall is returned when an endpoint stalled (the device refused the
	// request or the transfer).
	ErrStall = usererr.New("webusb", "the endpoint stalled")
	// ErrBabble is returned when the device sent more than was asked for.
	ErrBabble = usererr.New("webusb", "the device sent more data than expected")
	// ErrNoInterface is returned by Bulk when the device has no suitable
	// interface.
	ErrNoInterface = usererr.New("webusb", "no vendor interface with a bulk endpoint pair")
)

// Filter narrows the devices the chooser offers. Zero fields match any
// value; a class filter of 0 is not expressible (use no filter).
type Filter struct {
	VendorID     uint16
	ProductID    uint16
	Class        uint8
	Subclass     uint8
	Protocol     uint8
	SerialNumber string
}

// Info describes a device, as USBDevice reports it.
type Info struct {
	VendorID, ProductID uint16
	Class               uint8
	Manufacturer        string
	Product             string
	SerialNumber        string
	// Version is the device's release number (bcdDevice), e.g. "1.0.0".
	Version        string
	Configurations []Configuration
}

// String describes the device for people.
func (i Info) String() string {
	name := i.Product
	if name == "" {
		name = "USB device"
	}
	s := fmt.Sprintf("%s (%04x:%04x)", name, i.VendorID, i.ProductID)
	if i.SerialNumber != "" {
		s += " serial " + i.SerialNumber
	}
	return s
}

// Configuration is one of a device's configurations.
type Configuration struct {
	Value      uint8
	Name       string
	Interfaces []Interface
}

// Interface is one interface of a configuration, as its current alternate
// setting describes it.
type Interface struct {
	Number    uint8
	Class     uint8
	Subclass  uint8
	Protocol  uint8
	Name      string
	Endpoints []Endpoint
	// Alternates counts the interface's alternate settings.
	Alternates int
}

// Direction is an endpoint's direction.
type Direction string

// Directions.
const (
	In  Direction = "in"
	Out Direction = "out"
)

// Endpoint is an endpoint of an interface.
type Endpoint struct {
	Number     uint8
	Direction  Direction
	Type       string // "bulk", "interrupt" or "isochronous"
	PacketSize int
}

// Setup is the setup packet of a control transfer.
type Setup struct {
	// RequestType is "standard", "class" or "vendor".
	RequestType string
	// Recipient is "device", "interface", "endpoint" or "other".
	Recipient string
	Request   uint8
	Value     uint16
	Index     uint16
}

// EventType is the kind of a device event.
type EventType string

// Device events.
const (
	Connected    EventType = "connect"
	Disconnected EventType = "disconnect"
)

// Event is a granted device being plugged in or unplugged.
type Event struct {
	Type   EventType
	Device *Device
}

// VendorClass is the USB class code of vendor-specific interfaces.
const VendorClass = 0xff

// FindBulk returns the first interface of cfg (the vendor class when any
// exists) with a bulk IN and a bulk OUT endpoint, and those endpoints.
func FindBulk(cfg Configuration) (Interface, Endpoint, Endpoint, error) {
	pick := func(vendorOnly bool) (Interface, Endpoint, Endpoint, bool) {
		for _, it := range cfg.Interfaces {
			if vendorOnly && it.Class != VendorClass {
				continue
			}
			var in, out *Endpoint
			for i := range it.Endpoints {
				ep := &it.Endpoints[i]
				if ep.Type != "bulk" {
					continue
				}
				if ep.Direction == In && in == nil {
					in = ep
				}
				if ep.Direction == Out && out == nil {
					out = ep
				}
			}
			if in != nil && out != nil {
				return it, *in, *out, true
			}
		}
		return Interface{}, Endpoint{}, Endpoint{}, false
	}
	if it, in, out, ok := pick(true); ok {
		return it, in, out, nil
	}
	if it, in, out, ok := pick(false); ok {
		return it, in, out, nil
	}
	return Interface{}, Endpoint{}, Endpoint{}, ErrNoInterface
}
