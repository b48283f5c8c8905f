//go:build linux

package sim

import (
	"time"

	"golang.org/x/sys/unix"
)

// fineSleep sleeps d with the OS's high-resolution timer.
func fineSleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	unix.Nanosleep(&ts, nil)
}
