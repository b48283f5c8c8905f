package errtext

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"trustforge/crypto/audit"
	"trustforge/crypto/bundle"
	"trustforge/crypto/espimg"
	"trustforge/crypto/production"
	"trustforge/crypto/vault"
	"trustforge/devices/dfu"
	"trustforge/devices/esprom"
	"trustforge/devices/fwupdate"
	"trustforge/devices/provision"
	"trustforge/devices/smp"
	"trustforge/devices/webserial"
	"trustforge/devices/webusb"
	"trustforge/internal/apiwire"
	"trustforge/internal/browser"
	"trustforge/internal/usererr"
	"trustforge/wasm/link"
)

func TestDescribe(t *testing.T) {
	_, badVersion := bundle.ParseVersion("1.0.0-rc..1")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"cancelled", fmt.Errorf("publish: %w", context.Canceled), "Cancelled."},
		{"wrong passphrase", usererr.Errorf("vault", "unlock: %w", vault.ErrWrongPassphrase), "Wrong passphrase. Nothing was changed."},
		{"damaged backup", usererr.Errorf("", "%w: unexpected end of JSON input", vault.ErrCorrupt),
			"The file is damaged or is not a trustforge vault backup (" + usererr.Message(vault.ErrCorrupt) + ": unexpected end of JSON input). Nothing was changed."},
		{"server", &apiwire.Error{Status: 409, Code: apiwire.CodeConflict, Message: "release 1.0.0 exists"}, "The server refused: release 1.0.0 exists"},
		{"role", fmt.Errorf("x: %w", &apiwire.Error{Status: 403, Code: apiwire.CodeForbidden, Message: "publishing needs engineer"}),
			"Your role may not do this (publishing needs engineer)."},
		{"package named", usererr.Errorf("ui", "%s is neither an MCUboot image nor a trustforge release: %w", "a.bin", usererr.New("mcuimg", "bad header magic")),
			"A.bin is neither an MCUboot image nor a trustforge release: bad header magic."},
		// The cases the old prefix stripping mangled: "keys: " and
		// "release: " inside a message lost their words.
		{"keys: in a message", usererr.Errorf("vault", "listing keys: %w", errors.New("IndexedDB: quota exceeded")),
			"Listing keys: IndexedDB: quota exceeded."},
		{"release: in a message", badVersion, "Malformed: version \"1.0.0-rc..1\": pre-release: empty identifier."},
		{"eFuse state", usererr.Errorf("mastering", "board report: %w", &esprom.StateError{Problem: "data after the object"}),
			"Board report: eFuse state: data after the object."},
		{"foreign text kept whole", errors.New("age: no identity matched"), "Age: no identity matched."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Describe(tt.err); got != tt.want {
				t.Errorf("Describe(%v)\n got %q\nwant %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestDevice(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"busy", browser.Busy, "The port is in use by another tab or program: close it there, or unplug and replug the board."},
		{"busy usb", usererr.Errorf("webusb", "open: %w (%s)", browser.Busy, "Unable to claim interface"),
			"The port is in use by another tab or program: close it there, or unplug and replug the board."},
		{"unplugged", fmt.Errorf("upload: %w", link.ErrUnplugged), "The board was unplugged: plug it back in."},
		{"vault", fmt.Errorf("x: %w", vault.ErrLocked), "The vault is locked: unlock it with its passphrase first."},
		{"refusal", &fwupdate.Refusal{Err: fwupdate.ErrDowngrade, Reason: "the board runs 1.2.0, newer than release 1.1.0"},
			"The board runs 1.2.0, newer than release 1.1.0."},
		{"board error", &smp.Error{Cmd: "image erase", Code: int(smp.RCBadState)},
			"Image erase: the board's current state does not allow this (MGMT_ERR_EBADSTATE)."},
		{"board error in a flow", usererr.Errorf("updateflow", "slot %d: %w", 1, usererr.Errorf("fwupdate", "erase: %w", &smp.Error{Cmd: "image erase", Code: int(smp.RCBadState)})),
			"Slot 1: erase: image erase: the board's current state does not allow this (MGMT_ERR_EBADSTATE)."},
		{"link: in a message", usererr.Errorf("webserial", "open: the link: %s", "gone"), "Open: the link: gone."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Device(tt.err); got != tt.want {
				t.Errorf("Device(%v)\n got %q\nwant %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestDFU(t *testing.T) {
	for s := dfu.StatusTarget; s <= dfu.StatusStalledPkt; s++ {
		err := fmt.Errorf("wrapped: %w", &dfu.StatusError{Op: "write 0x08000000", Status: s, State: dfu.DFUError})
		got := DFU(err)
		if !strings.Contains(got, s.String()) || !strings.Contains(got, "write 0x08000000") || strings.Contains(got, "dfu:") {
			t.Errorf("%s: %q", s, got)
		}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"mismatch", usererr.Errorf("updateflow", "verify: %w", &dfu.MismatchError{Where: "first at 0x08000010 (device 0x00, file 0x01)"}),
			"Read back differs from the file: first at 0x08000010 (device 0x00, file 0x01)."},
		{"mismatch alone", dfu.ErrMismatch, "Read back differs from what was written."},
		{"no DFU", usererr.Errorf("dfu", "open: %w", dfu.ErrNoDFU), "This USB device has no DFU interface."},
		{"chooser", browser.NoneChosen, "No port was chosen."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DFU(tt.err); got != tt.want {
				t.Errorf("DFU(%v)\n got %q\nwant %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestIdentity(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"locked", &provision.Error{Cmd: "key generate", Code: provision.ErrCodeLocked},
			"Refused: Key generate: " + provision.CodeText(provision.ErrCodeLocked) + " (" + provision.CodeName(provision.ErrCodeLocked) + "). A locked board is never provisioned twice."},
		{"registry", &apiwire.Error{Status: 409, Code: apiwire.CodeDeviceRegistered, Message: "device d1 is registered"},
			"Refused by the registry: Server: device d1 is registered (409 device_registered)."},
		{"other", vault.ErrLocked, "The vault is locked: unlock it with its passphrase first."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Identity(tt.err); got != tt.want {
				t.Errorf("Identity(%v)\n got %q\nwant %q", tt.err, got, tt.want)
			}
		})
	}
}

// TestNoPackageNames: the sentinels people meet read without the Go
// package that made them.
func TestNoPackageNames(t *testing.T) {
	for _, err := range []error{vault.ErrNoVault, bundle.ErrMalformed, webserial.ErrClosed, webusb.ErrStall, dfu.ErrNotDfuSe,
		link.ErrNotConnected, smp.ErrTimeout, audit.ErrBroken, provision.ErrClone, production.ErrNotPackage, espimg.ErrTruncated,
		esprom.ErrBadState, &esprom.ROMError{Op: 0x02, Code: 0x07}} {
		pkg, _, _ := strings.Cut(err.Error(), ": ")
		if got := Describe(err); strings.Contains(strings.ToLower(got), pkg+": ") {
			t.Errorf("Describe(%v) = %q names its package", err, got)
		}
	}
}
