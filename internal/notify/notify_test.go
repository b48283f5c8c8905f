package notify

import (
	"sync"
	"testing"
)

func TestList(t *testing.T) {
	var l List
	l.Notify() // the zero value is usable
	var a, b int
	removeA := l.Add(func() { a++ })
	l.Add(func() { b++ })
	l.Notify()
	removeA()
	removeA() // twice does no harm
	l.Notify()
	if a != 1 || b != 2 || len(l.fns) != 1 {
		t.Errorf("a = %d, b = %d, len %d; want 1, 2, 1", a, b, len(l.fns))
	}
}

func TestRemoveDuringNotify(t *testing.T) {
	var l List
	var remove func()
	calls := 0
	remove = l.Add(func() { calls++; remove() })
	l.Notify()
	l.Notify()
	if calls != 1 {
		t.Errorf("a function that removes itself was called %d times, want 1", calls)
	}
}

func TestConcurrent(t *testing.T) {
	var l List
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				l.Add(func() {})()
				l.Notify()
			}
		}()
	}
	wg.Wait()
	if len(l.fns) != 0 {
		t.Errorf("%d functions left on the list", len(l.fns))
	}
}
