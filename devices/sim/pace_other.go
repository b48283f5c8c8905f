//go:build !linux

package sim

import "time"

// fineSleep sleeps d; without a finer OS sleep, the runtime's.
func fineSleep(d time.Duration) { time.Sleep(d) }
