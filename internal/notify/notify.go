// Package notify keeps the functions to call when shared state changes:
// the one subscriber list of the console's board link and its log, the
// session and the device kit. Components subscribe at mount, re-render in
// their own ctx.Dispatch when called, and remove themselves at dismount.
package notify

import "sync"

// List is a set of functions to call after a change. Its zero value is an
// empty list ready to use; its methods may be called from several
// goroutines.
type List struct {
	mu   sync.Mutex
	fns  map[int]func()
	next int
}

// Add puts fn on the list and returns the function that takes it off
// again. fn is called from whichever goroutine calls Notify and must not
// block.
func (l *List) Add(fn func()) (remove func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fns == nil {
		l.fns = map[int]func(){}
	}
	id := l.next
	l.next++
	l.fns[id] = fn
	return func() {
		l.mu.Lock()
		delete(l.fns, id)
		l.mu.Unlock()
	}
}

// Notify calls every function on the list, outside the list's lock, so a
// function may add or remove functions.
func (l *List) Notify() {
	l.mu.Lock()
	fns := make([]func(), 0, len(l.fns))
	for _, f := range l.fns {
		fns = append(fns, f)
	}
	l.mu.Unlock()
	for _, f := range fns {
		f()
	}
}
