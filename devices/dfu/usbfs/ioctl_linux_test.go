//go:build linux && (amd64 || arm64)

package usbfs

import "testing"

// TestIoctlNumbers checks the computed request numbers against the values
// linux/usbdevice_fs.h gives on 64-bit architectures.
func TestIoctlNumbers(t *testing.T) {
	for name, c := range map[string][2]uintptr{
		"USBDEVFS_CONTROL":          {ioctlControl, 0xc0185500},
		"USBDEVFS_SETINTERFACE":     {ioctlSetIface, 0x80085504},
		"USBDEVFS_CLAIMINTERFACE":   {ioctlClaim, 0x8004550f},
		"USBDEVFS_RELEASEINTERFACE": {ioctlRelease, 0x80045510},
		"USBDEVFS_IOCTL":            {ioctlIoctl, 0xc0105512},
		"USBDEVFS_RESET":            {ioctlReset, 0x5514},
		"USBDEVFS_DISCONNECT":       {ioctlDisconnect, 0x5516},
	} {
		if c[0] != c[1] {
			t.Errorf("%s = %#x, want %#x", name, c[0], c[1])
		}
	}
}
