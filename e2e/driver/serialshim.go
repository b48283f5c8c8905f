package driver

import (
	"context"
	_ "embed"
	"fmt"
)

// WebSerialShim is the JavaScript of the Web Serial shim: a function of one
// config argument that replaces navigator.serial (see webserial_shim.js).
// InstallSerialShim injects it; a production line's rig driving its own
// browser can inject it the same way.
//
//go:embed webserial_shim.js
var webSerialShim string

// WebSerialShim is the shim with the kit it shares with the WebUSB shim
// (shimkit.js).
var WebSerialShim = withKit(webSerialShim)

// shimKit is the JavaScript both shims share: a function of the shim's
// config returning the helpers the shim takes as its second argument.
//
//go:embed shimkit.js
var shimKit string

// withKit returns shim, a function of (config, kit), as a function of
// config alone that makes the kit first.
func withKit(shim string) string {
	return "(function (config) { return (" + shim + ")(config, (" + shimKit + ")(config)); })"
}

// serialHostFunc is the window function through which the shim reaches
// the host.
const serialHostFunc = "__tfSerialHost"

// ShimPort is a serial port the shim offers to the page.
type ShimPort struct {
	// ID names the port in Plug, Unplug and the chooser. Required.
	ID string
	// VendorID and ProductID are the port's USB identifiers (getInfo);
	// zero VendorID makes a port without USB information.
	VendorID, ProductID uint16
	// Baud is the device's line speed. A page that opens the port at
	// another speed reads garbage, as on a real line. Zero accepts any.
	Baud int
	// Granted ports are listed by getPorts() from the start, as an
	// enterprise policy grants them; others must be picked in the chooser.
	Granted bool
	// Device receives the port's bytes. Required.
	Device SerialDevice
}

// Chooser modes of SerialShim.SetChooser; any other value picks the port
// with that ID.
const (
	ChooseFirst  = "first"  // pick the first port that matches the filters
	ChooseCancel = "cancel" // dismiss the chooser: NotFoundError
	ChooseHang   = "hang"   // never answer, as headless Chromium's chooser
)

// SerialShim is the host side of the Web Serial shim in one tab. Its Opens
// and IsOpen report what the page did with its ports.
type SerialShim struct {
	*bridge
}

// InstallSerialShim replaces navigator.serial in the tab of ctx, from the
// next document it loads on, with the shim offering ports. Call it before
// navigating. Nothing reaches a real serial port.
func InstallSerialShim(ctx context.Context, chooser string, ports ...ShimPort) (*SerialShim, error) {
	s := &SerialShim{newBridge(ctx, "serial")}
	type portDesc struct {
		ID           string `json:"id"`
		USBVendorID  *int   `json:"usbVendorId,omitempty"`
		USBProductID *int   `json:"usbProductId,omitempty"`
		Granted      bool   `json:"granted"`
		Connected    bool   `json:"connected"`
	}
	var descs []portDesc
	for _, p := range ports {
		if err := s.add(p.ID, p.Device, p.Baud); err != nil {
			return nil, err
		}
		d := portDesc{ID: p.ID, Granted: p.Granted, Connected: true}
		if p.VendorID != 0 {
			v, pr := int(p.VendorID), int(p.ProductID)
			d.USBVendorID, d.USBProductID = &v, &pr
		}
		descs = append(descs, d)
	}
	if chooser == "" {
		chooser = ChooseFirst
	}
	if err := install(ctx, "Web Serial", serialHostFunc, s.handle, WebSerialShim, map[string]any{"ports": descs, "chooser": chooser}); err != nil {
		return nil, err
	}
	return s, nil
}

// Unplug unplugs the port's device: the page's streams fail with a
// NetworkError and "disconnect" fires. The device keeps running (a board
// with its own power, its USB serial cable pulled).
func (s *SerialShim) Unplug(id string) error {
	s.closeSession(id)
	return s.eval(fmt.Sprintf("__tfSerialShim.unplug(%q)", id))
}

// Plug plugs the port's device back in: "connect" fires and the page may
// open it again.
func (s *SerialShim) Plug(id string) error {
	return s.eval(fmt.Sprintf("__tfSerialShim.plug(%q)", id))
}

// SetChooser sets what the port chooser does on the page's next
// requestPort: ChooseFirst, ChooseCancel, ChooseHang or a port's ID.
func (s *SerialShim) SetChooser(mode string) error {
	return s.eval(fmt.Sprintf("__tfSerialShim.setChooser(%q)", mode))
}
