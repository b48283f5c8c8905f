package board

import (
	"errors"
	"fmt"
	"testing"

	"trustforge/crypto/vault"
	"trustforge/devices/fwupdate"
	"trustforge/devices/smp"
	"trustforge/devices/webserial"
)

// TestDescribeDevice: board errors read as sentences, without package
// prefixes, with what to do where there is something to do.
func TestDescribeDevice(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{webserial.ErrBusy, "The port is in use by another tab or program: close it there, or unplug and replug the board."},
		{fmt.Errorf("x: %w", vault.ErrLocked), "The vault is locked: unlock it with its passphrase first."},
		{&fwupdate.Refusal{Err: fwupdate.ErrDowngrade, Reason: "the board runs 1.2.0, newer than release 1.1.0"}, "The board runs 1.2.0, newer than release 1.1.0."},
		{&smp.Error{Cmd: "image erase", Code: int(smp.RCBadState)}, "Image erase: the board's current state does not allow this (MGMT_ERR_EBADSTATE)."},
		{errors.New("webserial: open: something odd"), "Open: something odd."},
	}
	for _, tt := range tests {
		if got := DescribeDevice(tt.err); got != tt.want {
			t.Errorf("describeDevice(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
