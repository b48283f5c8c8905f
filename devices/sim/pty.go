//go:build linux || darwin

package sim

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"trustforge/devices/serial"
)

// PTY is a pseudo-terminal: its terminal side is a serial port any tool can
// open by Path (the upstream mcumgr client included); the board reads and
// writes its other side. Pass it to Board.Serve.
type PTY struct {
	master *os.File // pollable, so Close ends a blocked Read
	slave  *os.File // kept open so the port stays up between clients
	path   string
}

// OpenPTY opens a pseudo-terminal in raw mode.
func OpenPTY() (*PTY, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("sim: opening a pseudo-terminal: %w", err)
	}
	if err := serial.MakeRaw(s); err != nil {
		m.Close()
		s.Close()
		return nil, err
	}
	// pty.Open leaves the controlling side in blocking mode; reopen it
	// non-blocking so that the runtime poller serves it.
	fd, err := unix.Dup(int(m.Fd()))
	m.Close()
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sim: pseudo-terminal: %w", err)
	}
	unix.CloseOnExec(fd)
	return &PTY{master: os.NewFile(uintptr(fd), "/dev/ptmx"), slave: s, path: s.Name()}, nil
}

// Path returns the path of the terminal side, such as /dev/pts/3.
func (p *PTY) Path() string { return p.path }

// Read reads what a tool wrote to the port.
func (p *PTY) Read(b []byte) (int, error) { return p.master.Read(b) }

// Write sends bytes to the tool that has the port open.
func (p *PTY) Write(b []byte) (int, error) { return p.master.Write(b) }

// Close closes the pseudo-terminal; the port disappears.
func (p *PTY) Close() error {
	err := p.master.Close()
	if serr := p.slave.Close(); err == nil {
		err = serr
	}
	return err
}
