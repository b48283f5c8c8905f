package webserial

import (
	"testing"

	"trustforge/devices/smp"
)

// A Port is an SMP transport in the browser and natively (where it never
// opens), so code that uses it builds everywhere.
var _ smp.Transport = (*Port)(nil)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		ok   bool
	}{
		{"baud only", Options{BaudRate: 115200}, true},
		{"full 8E2", Options{BaudRate: 1000000, DataBits: 8, StopBits: 2, Parity: ParityEven, HardwareFlowControl: true, BufferSize: 1 << 20}, true},
		{"7 data bits", Options{BaudRate: 9600, DataBits: 7}, true},
		{"no baud", Options{}, false},
		{"negative baud", Options{BaudRate: -1}, false},
		{"9 data bits", Options{BaudRate: 9600, DataBits: 9}, false},
		{"3 stop bits", Options{BaudRate: 9600, StopBits: 3}, false},
		{"mark parity", Options{BaudRate: 9600, Parity: "mark"}, false},
		{"huge buffer", Options{BaudRate: 9600, BufferSize: 32 << 20}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.validate()
			if got := err == nil; got != tt.ok {
				t.Errorf("validate(%+v) = %v, want ok=%v", tt.o, err, tt.ok)
			}
		})
	}
}

func TestInfoString(t *testing.T) {
	tests := []struct {
		info Info
		want string
	}{
		{Info{USB: true, VendorID: 0x2fe3, ProductID: 0x100}, "USB 2fe3:0100"},
		{Info{BluetoothService: "00001101-0000-1000-8000-00805f9b34fb"}, "Bluetooth 00001101-0000-1000-8000-00805f9b34fb"},
		{Info{}, "serial port"},
	}
	for _, tt := range tests {
		if got := tt.info.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.info, got, tt.want)
		}
	}
}
