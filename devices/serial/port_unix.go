//go:build linux || darwin

package serial

import (
	"errors"
	"os"
	"time"

	"trustforge/internal/usererr"

	"golang.org/x/sys/unix"
)

// Port is a host serial port opened raw: a USB UART adapter, an on-board
// UART or a pseudo-terminal such as the board simulator's.
//
// Reads and writes go through the runtime's poller, so Close unblocks a
// pending Read and SetReadDeadline bounds one.
type Port struct {
	f *os.File
}

// OpenPort opens the serial port at path raw (8 data bits, no parity, one
// stop bit, no flow control, no echo or line editing) at baud bits per
// second, and discards what the port received before. Zero baud keeps the port's current speed; a pseudo-terminal
// accepts any standard speed and ignores it.
func OpenPort(path string, baud int) (*Port, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, usererr.Errorf("serial", "open %s: %w", path, err)
	}
	if err := makeRaw(fd, baud); err != nil {
		unix.Close(fd)
		return nil, usererr.Errorf("serial", "%s: %w", path, err)
	}
	if err := flush(fd); err != nil {
		unix.Close(fd)
		return nil, usererr.Errorf("serial", "%s: %w", path, err)
	}
	return &Port{f: os.NewFile(uintptr(fd), path)}, nil
}

// MakeRaw puts the terminal f in raw mode at its current speed. The board
// simulator uses it on its end of a pseudo-terminal so that no line
// discipline echoes or rewrites the bytes.
func MakeRaw(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return usererr.Errorf("serial", "%w", err)
	}
	var rerr error
	if err := rc.Control(func(fd uintptr) { rerr = makeRaw(int(fd), 0) }); err != nil {
		return usererr.Errorf("serial", "%w", err)
	}
	if rerr != nil {
		return usererr.Errorf("serial", "%s: %w", f.Name(), rerr)
	}
	return nil
}

func makeRaw(fd, baud int) error {
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		if errors.Is(err, unix.ENOTTY) {
			return errors.New("not a serial port or terminal")
		}
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR |
		unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if baud != 0 {
		if err := setSpeed(t, baud); err != nil {
			return err
		}
	}
	return unix.IoctlSetTermios(fd, ioctlSetTermios, t)
}

// Read reads bytes the board sent.
func (p *Port) Read(b []byte) (int, error) { return p.f.Read(b) }

// Write writes b to the board.
func (p *Port) Write(b []byte) (int, error) { return p.f.Write(b) }

// Close closes the port, unblocking a pending Read.
func (p *Port) Close() error { return p.f.Close() }

// SetReadDeadline makes a pending and future Read fail with an error
// wrapping os.ErrDeadlineExceeded once t has passed. The zero time means no
// deadline.
func (p *Port) SetReadDeadline(t time.Time) error { return p.f.SetReadDeadline(t) }

// Name returns the path the port was opened at.
func (p *Port) Name() string { return p.f.Name() }
