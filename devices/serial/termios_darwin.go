package serial

import (
	"trustforge/internal/usererr"

	"golang.org/x/sys/unix"
)

const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
)

func setSpeed(t *unix.Termios, baud int) error {
	if baud <= 0 {
		return usererr.Errorf("", "baud rate %d out of range", baud)
	}
	t.Ispeed, t.Ospeed = uint64(baud), uint64(baud)
	return nil
}

// flush discards bytes received and not read, and bytes written and not
// sent: what a board printed before the port was opened is stale.
func flush(fd int) error {
	const fRead, fWrite = 1, 2
	return unix.IoctlSetPointerInt(fd, unix.TIOCFLUSH, fRead|fWrite)
}
