//go:build !(linux || darwin)

package sim

import "time"

// fineSleep sleeps d; without a finer OS sleep, the runtime's.
func fineSleep(d time.Duration) { time.Sleep(d) }
