package dfu

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigurationRoundTrip(t *testing.T) {
	fn := Functional{CanDownload: true, CanUpload: true, WillDetach: true, DetachTimeout: 255 * time.Millisecond, TransferSize: 2048, Version: VersionDfuSe}
	alts := []AltSetting{
		{Interface: 0, Alternate: 0, Class: 0xfe, Subclass: 1, Protocol: 2, NameIndex: 4, Functional: &fn},
		{Interface: 0, Alternate: 1, Class: 0xfe, Subclass: 1, Protocol: 2, NameIndex: 5, Functional: &fn},
		{Interface: 1, Class: 0xff, NameIndex: 6, Endpoints: []uint8{0x81, 0x02}},
	}
	b := BuildConfiguration(alts)
	got, err := ParseConfiguration(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d alternate settings, want 3", len(got))
	}
	for i, a := range got[:2] {
		if !a.IsDFU() || a.Runtime() || a.Functional == nil || *a.Functional != fn || a.Alternate != uint8(i) {
			t.Errorf("alt %d: %+v", i, a)
		}
	}
	if got[2].IsDFU() || got[2].Functional != nil || len(got[2].Endpoints) != 2 || got[2].Endpoints[0] != 0x81 {
		t.Errorf("vendor interface: %+v", got[2])
	}
	// DFU 1.0's 7-byte functional descriptor has no bcdDFUVersion.
	f, err := ParseFunctional([]byte{7, 0x21, 0x0b, 0xff, 0x00, 0x00, 0x04})
	if err != nil || f.Version != Version10 || f.TransferSize != 1024 || !f.CanDownload || !f.CanUpload || f.ManifestationTolerant || !f.WillDetach || f.DetachTimeout != 255*time.Millisecond {
		t.Errorf("DFU 1.0 descriptor: %+v, %v", f, err)
	}
	for _, bad := range [][]byte{nil, {9, 0x21}, {9, 0x22, 0, 0, 0, 0, 4, 0, 0}, {9, 0x21, 0, 0, 0, 0, 0, 0x10, 1}} {
		if _, err := ParseFunctional(bad); !errors.Is(err, ErrDescriptor) {
			t.Errorf("ParseFunctional(% x) = %v", bad, err)
		}
	}
	for n := range len(b) {
		if _, err := ParseConfiguration(b[:n]); err == nil {
			t.Fatalf("a configuration cut to %d of %d bytes parses", n, len(b))
		}
	}
}

func TestStrings(t *testing.T) {
	for _, s := range []string{"", "image-1", "@Internal Flash  /0x08000000/04*016Kg", "Ünïcødé ✓"} {
		got, err := ParseString(BuildString(s))
		if err != nil || got != s {
			t.Errorf("string %q round trip: %q, %v", s, got, err)
		}
	}
	long := strings.Repeat("x", 300)
	if got, _ := ParseString(BuildString(long)); len(got) != 126 {
		t.Errorf("a long string is cut to %d units, want 126", len(got))
	}
	d := DeviceDescriptor{VendorID: 0x0483, ProductID: 0xdf11, Release: 0x2200, Manufacturer: 1, Product: 2, Serial: 3}
	if got, err := ParseDeviceDescriptor(d.Bytes()); err != nil || got != d {
		t.Errorf("device descriptor: %+v, %v", got, err)
	}
}

// TestEveryStatus checks every DFU status code has its name and its own
// message, and errors.Is finds it.
func TestEveryStatus(t *testing.T) {
	seen := map[string]bool{}
	names := []string{"OK", "errTARGET", "errFILE", "errWRITE", "errERASE", "errCHECK_ERASED", "errPROG", "errVERIFY",
		"errADDRESS", "errNOTDONE", "errFIRMWARE", "errVENDOR", "errUSBR", "errPOR", "errUNKNOWN", "errSTALLEDPKT"}
	for i, name := range names {
		s := Status(i)
		if s.String() != name {
			t.Errorf("status %d is %q, want %q", i, s, name)
		}
		if seen[s.Text()] {
			t.Errorf("status %s shares its message %q", s, s.Text())
		}
		seen[s.Text()] = true
		err := error(&StatusError{Op: "download block 3", Status: s, State: DFUError})
		if !errors.Is(err, ErrStatus(s)) || (s != StatusOK && errors.Is(err, ErrStatus(StatusOK))) {
			t.Errorf("errors.Is does not tell %s apart", s)
		}
		if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), s.Text()) || !strings.Contains(err.Error(), "block 3") {
			t.Errorf("message %q", err)
		}
	}
	if Status(0x10).String() != "status 0x10" || State(11).String() != "state 11" {
		t.Error("undefined codes are not named as such")
	}
	r := StatusReport{Status: StatusErase, PollTimeout: 1500 * time.Microsecond, State: DFUDnbusy, StringIndex: 7}
	got, err := ParseStatus(r.Bytes())
	if err != nil || got.PollTimeout != 2*time.Millisecond || got.Status != StatusErase || got.State != DFUDnbusy || got.StringIndex != 7 {
		t.Errorf("status report: %+v, %v", got, err)
	}
}
