package webusb

import (
	"errors"
	"fmt"
	"testing"

	"trustforge/devices/dfu"
	"trustforge/devices/smp"
)

var _ smp.Transport = (*Bulk)(nil)

func TestFindBulk(t *testing.T) {
	cdc := Interface{Number: 0, Class: 2, Endpoints: []Endpoint{{Number: 3, Direction: In, Type: "interrupt"}}}
	data := Interface{Number: 1, Class: 10, Endpoints: []Endpoint{{Number: 1, Direction: In, Type: "bulk"}, {Number: 2, Direction: Out, Type: "bulk"}}}
	vendor := Interface{Number: 2, Class: VendorClass, Endpoints: []Endpoint{{Number: 5, Direction: Out, Type: "bulk", PacketSize: 64}, {Number: 4, Direction: In, Type: "bulk"}}}
	dfu := Interface{Number: 3, Class: 0xfe, Subclass: 1}
	tests := []struct {
		name    string
		cfg     Configuration
		iface   uint8
		in, out uint8
		wantErr error
	}{
		{"vendor preferred", Configuration{Interfaces: []Interface{cdc, data, vendor, dfu}}, 2, 4, 5, nil},
		{"any bulk pair", Configuration{Interfaces: []Interface{cdc, data, dfu}}, 1, 1, 2, nil},
		{"none", Configuration{Interfaces: []Interface{cdc, dfu}}, 0, 0, 0, ErrNoInterface},
		{"empty", Configuration{}, 0, 0, 0, ErrNoInterface},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, in, out, err := FindBulk(tt.cfg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if it.Number != tt.iface || in.Number != tt.in || out.Number != tt.out {
				t.Errorf("got interface %d in %d out %d, want %d %d %d", it.Number, in.Number, out.Number, tt.iface, tt.in, tt.out)
			}
		})
	}
}

func TestInfoString(t *testing.T) {
	i := Info{VendorID: 0x2fe3, ProductID: 0x0100, Product: "Thermo X2", SerialNumber: "A1B2"}
	if got, want := i.String(), "Thermo X2 (2fe3:0100) serial A1B2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := (Info{VendorID: 1, ProductID: 2}).String(), "USB device (0001:0002)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDFUSetupAndErrors(t *testing.T) {
	s := dfuSetup(dfu.Setup{Type: dfu.Class, Recipient: dfu.ToInterface, Request: 3, Value: 7, Index: 1})
	if s.RequestType != "class" || s.Recipient != "interface" || s.Request != 3 || s.Value != 7 || s.Index != 1 {
		t.Errorf("setup %+v", s)
	}
	if err := dfuErr(ErrStall); !errors.Is(err, dfu.ErrStall) || !errors.Is(err, ErrStall) {
		t.Errorf("stall maps to %v", err)
	}
	if err := dfuErr(fmt.Errorf("x: %w", errs.Disconnected)); !errors.Is(err, dfu.ErrDisconnected) {
		t.Errorf("unplug maps to %v", err)
	}
	i := Info{Configurations: []Configuration{{Interfaces: []Interface{{Class: 0xff}, {Class: 0xfe, Subclass: 1, Protocol: 2}}}}}
	if !i.IsDFU() {
		t.Error("a DFU interface is not recognised")
	}
	if (Info{Configurations: []Configuration{{Interfaces: []Interface{{Class: 0xfe, Subclass: 2}}}}}).IsDFU() {
		t.Error("an IrDA bridge (0xfe/0x02) is taken for DFU")
	}
}
