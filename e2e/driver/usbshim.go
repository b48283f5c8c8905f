package driver

import (
	"context"
	_ "embed"
	"fmt"

	"trustforge/devices/sim"
)

// WebUSBShim is the JavaScript of the WebUSB shim: a function of one config
// argument that replaces navigator.usb with devices exposing a vendor bulk
// interface (see webusb_shim.js). InstallUSBShim injects it.
//
//go:embed webusb_shim.js
var webUSBShim string

// WebUSBShim is the shim with the kit it shares with the Web Serial shim.
var WebUSBShim = withKit(webUSBShim)

// usbHostFunc is the window function through which the shim reaches the
// host.
const usbHostFunc = "__tfUSBHost"

// ShimUSBDevice is a USB device the shim offers to the page: its vendor
// bulk interface carries the bytes of Device.
type ShimUSBDevice struct {
	// ID names the device in Plug, Unplug and the chooser. Required.
	ID string
	// VendorID, ProductID, Product, Manufacturer and Serial describe it.
	VendorID, ProductID           uint16
	Product, Manufacturer, Serial string
	// Granted devices are listed by getDevices() from the start, as the
	// WebUsbAllowDevicesForUrls policy grants them.
	Granted bool
	// Device receives the bulk endpoints' bytes. Required unless USB is
	// set.
	Device Device
	// USB, when set, is a simulated USB device (a DFU board) whose
	// descriptors the shim shows and whose control transfers, alternate
	// settings and resets it forwards; its vendor bulk interface, if any,
	// carries Device's bytes. Its re-enumerations reach the page as a
	// disconnect and a connect of a new USBDevice.
	USB *sim.USB
}

// USBShim is the host side of the WebUSB shim in one tab.
type USBShim struct {
	*bridge
	dfu map[string]*usbPort
}

// InstallUSBShim replaces navigator.usb in the tab of ctx, from the next
// document it loads on, with the shim offering devices. Call it before
// navigating. Nothing reaches a real USB device.
func InstallUSBShim(ctx context.Context, chooser string, devices ...ShimUSBDevice) (*USBShim, error) {
	s := &USBShim{bridge: newBridge(ctx, "USB"), dfu: map[string]*usbPort{}}
	type desc struct {
		ID           string `json:"id"`
		VendorID     int    `json:"vendorId"`
		ProductID    int    `json:"productId"`
		Product      string `json:"productName,omitempty"`
		Manufacturer string `json:"manufacturerName,omitempty"`
		Serial       string `json:"serialNumber,omitempty"`
		Granted      bool   `json:"granted"`
		USB          any    `json:"usb,omitempty"`
		Enum         int    `json:"enum,omitempty"`
	}
	var descs []desc
	for _, d := range devices {
		dd := desc{ID: d.ID, VendorID: int(d.VendorID), ProductID: int(d.ProductID), Product: d.Product,
			Manufacturer: d.Manufacturer, Serial: d.Serial, Granted: d.Granted}
		if d.USB != nil {
			p, err := s.addUSB(d.ID, d.USB)
			if err != nil {
				return nil, err
			}
			info := d.USB.Info()
			dd.USB, dd.Enum, dd.ProductID = usbDescription(info), p.enum, int(info.Device.ProductID)
		}
		if d.Device != nil || d.USB == nil {
			if err := s.add(d.ID, d.Device, 0); err != nil {
				return nil, err
			}
		}
		descs = append(descs, dd)
	}
	if chooser == "" {
		chooser = ChooseFirst
	}
	if err := install(ctx, "WebUSB", usbHostFunc, s.handleUSB, WebUSBShim, map[string]any{"devices": descs, "chooser": chooser}); err != nil {
		return nil, err
	}
	s.watchUSB()
	return s, nil
}

// Unplug unplugs the device: its pending and later transfers fail with a
// NotFoundError and "disconnect" fires at navigator.usb.
func (s *USBShim) Unplug(id string) error {
	s.closeSession(id)
	if p := s.dfu[id]; p != nil {
		p.usb.Unplug()
		return nil
	}
	return s.eval(fmt.Sprintf("__tfUSBShim.unplug(%q)", id))
}

// Plug plugs the device back in: "connect" fires.
func (s *USBShim) Plug(id string) error {
	if p := s.dfu[id]; p != nil {
		p.usb.Plug()
		return nil
	}
	return s.eval(fmt.Sprintf("__tfUSBShim.plug(%q)", id))
}

// SetChooser sets what the device chooser does on the page's next
// requestDevice: ChooseFirst, ChooseCancel, ChooseHang or a device's ID.
func (s *USBShim) SetChooser(mode string) error {
	return s.eval(fmt.Sprintf("__tfUSBShim.setChooser(%q)", mode))
}
