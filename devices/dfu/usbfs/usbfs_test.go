package usbfs

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"trustforge/devices/dfu"
)

// fakeDevice writes a device's sysfs directory as the kernel lays it out.
func fakeDevice(t *testing.T, root, port string, bus, addr int, dd dfu.DeviceDescriptor, alts []dfu.AltSetting, product, serial string) {
	t.Helper()
	dir := filepath.Join(root, port)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"descriptors": string(append(dd.Bytes(), dfu.BuildConfiguration(alts)...)),
		"busnum":      strconv.Itoa(bus) + "\n", "devnum": strconv.Itoa(addr) + "\n",
		"product": product + "\n", "serial": serial + "\n",
	}
	for n, v := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestList(t *testing.T) {
	root := t.TempDir()
	fn := dfu.Functional{CanDownload: true, CanUpload: true, WillDetach: true, DetachTimeout: 255 * time.Millisecond, TransferSize: 2048, Version: dfu.VersionDfuSe}
	fakeDevice(t, root, "1-4.2", 1, 9, dfu.DeviceDescriptor{VendorID: 0x0483, ProductID: 0xdf11},
		[]dfu.AltSetting{{Class: 0xfe, Subclass: 1, Protocol: 2, Functional: &fn}, {Alternate: 1, Class: 0xfe, Subclass: 1, Protocol: 2, Functional: &fn}},
		"STM32  BOOTLOADER", "3276365F3033")
	fakeDevice(t, root, "1-3", 1, 4, dfu.DeviceDescriptor{VendorID: 0x046d, ProductID: 0xc52b},
		[]dfu.AltSetting{{Class: 3}}, "Keyboard", "")
	// Interfaces and root hubs are skipped.
	os.MkdirAll(filepath.Join(root, "1-4.2:1.0"), 0o755)
	os.MkdirAll(filepath.Join(root, "usb1"), 0o755)

	got, err := Bus{Sysfs: root, Dev: "/dev/bus/usb"}.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d devices, want the DFU one only: %+v", len(got), got)
	}
	d := got[0]
	if d.Path != "/dev/bus/usb/001/009" || d.Port != "1-4.2" || d.VendorID != 0x0483 || d.Serial != "3276365F3033" || len(d.Alternates) != 2 {
		t.Fatalf("device %+v", d)
	}
	if s := d.String(); s != "/dev/bus/usb/001/009 0483:df11 STM32  BOOTLOADER, DFU mode, port 1-4.2, serial 3276365F3033" {
		t.Errorf("String() = %q", s)
	}
	if _, err := (Bus{Sysfs: root}).Find("1-9"); err == nil {
		t.Error("a missing port is found")
	}
}

// TestNoUSB: a machine without USB lists nothing, and no error.
func TestNoUSB(t *testing.T) {
	got, err := Bus{Sysfs: filepath.Join(t.TempDir(), "none")}.List()
	if err != nil || len(got) != 0 {
		t.Fatalf("List() = %v, %v", got, err)
	}
}
