package serial

import (
	"fmt"

	"golang.org/x/sys/unix"
)

const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
)

func setSpeed(t *unix.Termios, baud int) error {
	if baud <= 0 {
		return fmt.Errorf("baud rate %d out of range", baud)
	}
	t.Ispeed, t.Ospeed = uint64(baud), uint64(baud)
	return nil
}
