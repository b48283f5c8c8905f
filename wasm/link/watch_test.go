package link

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestWatchFailureIsLoggedAndRetried: a watch that cannot start says so in
// the log and is tried again by the next connection; one that starts runs
// once, until Close, which waits for it.
func TestWatchFailureIsLoggedAndRetried(t *testing.T) {
	l := New()
	starts := 0
	ended := make(chan struct{})
	start := func(ctx context.Context) (<-chan int, error) {
		starts++
		if starts == 1 {
			return nil, errors.New("no serial API here")
		}
		ch := make(chan int, 1)
		ch <- 7
		go func() {
			<-ctx.Done()
			close(ch)
		}()
		return ch, nil
	}
	got := make(chan int, 1)
	handle := func(ev int) { got <- ev }

	watch(l, Serial, start, handle)
	if starts != 1 || !logHas(l, "no serial API here") {
		t.Fatalf("after a failed start: %d starts, log %q", starts, l.Log().Lines())
	}
	watch(l, Serial, start, handle)
	if starts != 2 {
		t.Fatalf("a failed watch was not tried again: %d starts", starts)
	}
	if ev := <-got; ev != 7 {
		t.Errorf("event %d, want 7", ev)
	}
	watch(l, Serial, start, handle)
	if starts != 2 {
		t.Errorf("a running watch was started again: %d starts", starts)
	}
	go func() { l.Close(); close(ended) }()
	<-ended // Close returns only once the watch's goroutine has ended
	watch(l, Serial, start, handle)
	if starts != 2 {
		t.Errorf("a closed link started a watch: %d starts", starts)
	}
}

func logHas(l *Link, s string) bool {
	for _, line := range l.Log().Lines() {
		if strings.Contains(line.Text, s) {
			return true
		}
	}
	return false
}
