package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeviceFlags: `trustforge device` parses its options with the flag
// package: long and short names, options after the command, durations
// in seconds or with a unit, and numbers out of range refused before any
// port is opened.
func TestDeviceFlags(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-p", missing, "-t", "0.5", "echo"}, 1, "no such file"},
		{[]string{"echo", "hi", "--port", missing, "--timeout", "500ms"}, 1, "no such file"},
		{[]string{"--port", missing, "--window", "65", "image", "upload", "x.bin"}, 2, "--window: 65 is not a number from 0 to 64"},
		{[]string{"--port", missing, "image", "erase", "--slot", "2"}, 2, "--slot: 2"},
		{[]string{"--port", missing, "--timeout", "soon", "echo"}, 2, `"soon" is not a duration`},
		{[]string{"--port", missing, "--frobnicate", "echo"}, 2, "flag provided but not defined: -frobnicate"},
		{[]string{"echo"}, 2, "missing required option --port"},
		{[]string{"--port", missing}, 2, "no command"},
		{[]string{"-h"}, 0, "image upload FILE"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), append([]string{"device"}, tt.args...), Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
			if code != tt.code || !strings.Contains(out.String()+errOut.String(), tt.want) {
				t.Errorf("exit %d, want %d saying %q\nstdout: %s\nstderr: %s", code, tt.code, tt.want, out.String(), errOut.String())
			}
		})
	}
}
