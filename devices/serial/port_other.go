//go:build !(linux || darwin)

package serial

import (
	"os"
	"runtime"
	"time"

	"trustforge/internal/usererr"
)

// Port is a host serial port. Opening one is supported on Linux and macOS;
// elsewhere OpenPort returns an error.
type Port struct{}

// errUnsupported is returned by OpenPort on systems without port support.
var errUnsupported = usererr.New("serial", "opening serial ports is not supported on "+runtime.GOOS)

// OpenPort opens the serial port at path; see the Linux documentation.
func OpenPort(path string, baud int) (*Port, error) {
	return nil, usererr.Errorf("", "%w (port %s)", errUnsupported, path)
}

// MakeRaw puts the terminal f in raw mode; unsupported here.
func MakeRaw(f *os.File) error { return errUnsupported }

// Read always fails.
func (p *Port) Read(b []byte) (int, error) { return 0, errUnsupported }

// Write always fails.
func (p *Port) Write(b []byte) (int, error) { return 0, errUnsupported }

// Close does nothing.
func (p *Port) Close() error { return nil }

// SetReadDeadline always fails.
func (p *Port) SetReadDeadline(t time.Time) error { return errUnsupported }

// Name returns the empty string.
func (p *Port) Name() string { return "" }
