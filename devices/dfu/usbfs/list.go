package usbfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"trustforge/devices/dfu"
)

// List returns the USB devices that have a DFU interface (run-time or DFU
// mode), from sysfs. A machine without USB (no sysfs USB directory) has
// none.
func (b Bus) List() ([]Device, error) {
	entries, err := os.ReadDir(b.sysfs())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("usbfs: %w", err)
	}
	var out []Device
	for _, e := range entries {
		name := e.Name()
		// Devices are "1-4.2" (or root hubs "usb1"); interfaces have a ':'.
		if strings.Contains(name, ":") || strings.HasPrefix(name, "usb") {
			continue
		}
		d, err := b.read(name)
		if err != nil {
			continue // a device going away, or not one of ours
		}
		if (&dfu.Description{Alternates: d.Alternates}).Mode() != "" {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out, nil
}

// read reads one device's sysfs directory.
func (b Bus) read(port string) (Device, error) {
	dir := filepath.Join(b.sysfs(), port)
	attr := func(n string) string {
		v, _ := os.ReadFile(filepath.Join(dir, n))
		return strings.TrimSpace(string(v))
	}
	raw, err := os.ReadFile(filepath.Join(dir, "descriptors"))
	if err != nil {
		return Device{}, err
	}
	dd, err := dfu.ParseDeviceDescriptor(raw)
	if err != nil {
		return Device{}, err
	}
	bus, err1 := strconv.Atoi(attr("busnum"))
	addr, err2 := strconv.Atoi(attr("devnum"))
	if err1 != nil || err2 != nil {
		return Device{}, fmt.Errorf("usbfs: %s: no bus or device number", port)
	}
	d := Device{Port: port, Bus: bus, Address: addr, DeviceDescriptor: dd,
		Path:         filepath.Join(b.dev(), fmt.Sprintf("%03d", bus), fmt.Sprintf("%03d", addr)),
		Manufacturer: attr("manufacturer"), Product: attr("product"), Serial: attr("serial")}
	// The first configuration follows the 18-byte device descriptor.
	if len(raw) > int(raw[0]) {
		alts, err := dfu.ParseConfiguration(raw[raw[0]:])
		if err != nil {
			return Device{}, err
		}
		d.Alternates = alts
	}
	return d, nil
}

// Find returns the device at port (as List gives it), for finding a device
// again after it re-enumerated.
func (b Bus) Find(port string) (Device, error) {
	d, err := b.read(port)
	if err != nil {
		return Device{}, fmt.Errorf("usbfs: no device at port %s: %w", port, dfu.ErrDisconnected)
	}
	return d, nil
}
