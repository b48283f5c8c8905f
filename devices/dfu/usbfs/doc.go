// Package usbfs reaches USB DFU devices on Linux through usbfs, the
// kernel's /dev/bus/usb device nodes, in pure Go: no cgo, no libusb.
//
// List finds DFU devices from sysfs (/sys/bus/usb/devices), reading the
// descriptors the kernel caches there, so listing opens no device node.
// Open opens one device node and returns a Conn, a dfu.Control (and
// dfu.Resetter) made of usbfs ioctls: control transfers, SET_INTERFACE
// with the interface claimed (detaching a kernel driver bound to it), and
// a port reset. Nothing here touches a serial port or a tty.
//
// Opening a device node needs permission: a udev rule for the device, as
// dfu-util's users write, or root.
package usbfs

import (
	"errors"
	"fmt"

	"trustforge/devices/dfu"
)

// ErrUnsupported is returned by every call outside Linux.
var ErrUnsupported = errors.New("usbfs: USB devices are reached through usbfs on Linux only")

// Default locations of sysfs's USB devices and usbfs's device nodes.
const (
	DefaultSysfs = "/sys/bus/usb/devices"
	DefaultDev   = "/dev/bus/usb"
)

// Device is a USB device with a DFU interface, as sysfs lists it.
type Device struct {
	// Port is the device's place on the bus ("1-4.2"), which stays the
	// same when the device re-enumerates.
	Port string
	// Path is its usbfs node, /dev/bus/usb/BBB/DDD.
	Path                          string
	Bus, Address                  int
	Manufacturer, Product, Serial string
	dfu.DeviceDescriptor
	// Alternates are its interfaces' alternate settings, names not read
	// (sysfs keeps only the current setting's); dfu.Describe on an open
	// Conn reads them.
	Alternates []dfu.AltSetting
}

// String describes the device for a listing.
func (d Device) String() string {
	mode := "no DFU"
	desc := dfu.Description{Alternates: d.Alternates}
	switch desc.Mode() {
	case "runtime":
		mode = "run-time (DFU_DETACH to update)"
	case "dfu":
		mode = "DFU mode"
	}
	name := d.Product
	if name == "" {
		name = "USB device"
	}
	s := fmt.Sprintf("%s %04x:%04x %s, %s, port %s", d.Path, d.VendorID, d.ProductID, name, mode, d.Port)
	if d.Serial != "" {
		s += ", serial " + d.Serial
	}
	return s
}

// Bus locates sysfs and usbfs. The zero value uses the system's.
type Bus struct {
	// Sysfs is the sysfs USB devices directory. Empty means DefaultSysfs.
	Sysfs string
	// Dev is the usbfs root. Empty means DefaultDev.
	Dev string
}

func (b Bus) sysfs() string {
	if b.Sysfs == "" {
		return DefaultSysfs
	}
	return b.Sysfs
}

func (b Bus) dev() string {
	if b.Dev == "" {
		return DefaultDev
	}
	return b.Dev
}
