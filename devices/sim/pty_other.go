//go:build !(linux || darwin)

package sim

import (
	"errors"
	"runtime"
)

// PTY is a pseudo-terminal; they are supported on Linux and macOS only.
type PTY struct{}

// OpenPTY returns an error on this system.
func OpenPTY() (*PTY, error) {
	return nil, errors.New("sim: pseudo-terminals are not supported on " + runtime.GOOS)
}

// Path returns the empty string.
func (p *PTY) Path() string { return "" }

// Read always fails.
func (p *PTY) Read(b []byte) (int, error) { return 0, errors.ErrUnsupported }

// Write always fails.
func (p *PTY) Write(b []byte) (int, error) { return 0, errors.ErrUnsupported }

// Close does nothing.
func (p *PTY) Close() error { return nil }
