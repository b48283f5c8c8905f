package sim

import (
	"context"
	"runtime"
	"time"
)

func timeUntil(t time.Time) time.Duration { return time.Until(t) }

// sleepUntil waits until t as exactly as it can: the runtime's timers are
// coarse (about a millisecond here), which would add latency to every byte
// group of a fast UART, so the last stretch uses a fine sleep of the OS and
// the last microseconds a yield loop. It returns false when ctx is done.
func sleepUntil(ctx context.Context, t time.Time) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		d := time.Until(t)
		switch {
		case d <= 0:
			return true
		case d > 3*time.Millisecond:
			timer := time.NewTimer(d - 2*time.Millisecond)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return false
			}
		case d > 150*time.Microsecond:
			fineSleep(d - 100*time.Microsecond)
		default:
			runtime.Gosched()
		}
	}
}
