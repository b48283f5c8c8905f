//go:build linux || darwin

package serial

import (
	"trustforge/internal/usererr"

	"golang.org/x/sys/unix"
)

// SetBaud changes the port's speed, keeping it raw.
func (p *Port) SetBaud(baud int) error {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return usererr.Errorf("serial", "%w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = makeRaw(int(fd), baud) }); err != nil {
		return usererr.Errorf("serial", "%w", err)
	}
	if serr != nil {
		return usererr.Errorf("serial", "%s: %w", p.f.Name(), serr)
	}
	return nil
}

// SetLines sets the DTR and RTS modem lines. Pseudo-terminals have none
// and return an error.
func (p *Port) SetLines(dtr, rts bool) error {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return usererr.Errorf("serial", "%w", err)
	}
	var serr error
	set := func(fd uintptr, bit int, on bool) {
		req := uint(unix.TIOCMBIC)
		if on {
			req = unix.TIOCMBIS
		}
		if serr == nil {
			serr = unix.IoctlSetPointerInt(int(fd), req, bit)
		}
	}
	if err := rc.Control(func(fd uintptr) {
		set(fd, unix.TIOCM_DTR, dtr)
		set(fd, unix.TIOCM_RTS, rts)
	}); err != nil {
		return usererr.Errorf("serial", "%w", err)
	}
	if serr != nil {
		return usererr.Errorf("serial", "%s: setting DTR/RTS: %w", p.f.Name(), serr)
	}
	return nil
}
