//go:build js && wasm

package browser

import (
	"context"

	"github.com/hack-pad/safejs"
)

// WaitEvent waits for target (an EventTarget: an IDBRequest, an
// XMLHttpRequest, a FileReader...) to fire an event of type ok, or of one
// of the types in fail, and returns the event. A fail event is returned
// with an *Error named after its type ("error", "abort", ...), or after the
// target's "error" property when that is a DOMException. Register the
// listeners before the event can fire: call WaitEvent right after starting
// the operation, from the same goroutine, with no await in between.
func WaitEvent(ctx context.Context, target safejs.Value, ok string, fail ...string) (safejs.Value, error) {
	type fired struct {
		ev   safejs.Value
		kind string
	}
	ch := make(chan fired, 1+len(fail))
	var funcs []safejs.Func
	release := func() {
		for _, f := range funcs {
			f.Release()
		}
	}
	listen := func(kind string) error {
		f, err := safejs.FuncOf(func(this safejs.Value, args []safejs.Value) any {
			ev := safejs.Undefined()
			if len(args) > 0 {
				ev = args[0]
			}
			select {
			case ch <- fired{ev, kind}:
			default:
			}
			return nil
		})
		if err != nil {
			return err
		}
		funcs = append(funcs, f)
		_, err = Call(target, "addEventListener", kind, f.Value())
		return err
	}
	for _, kind := range append([]string{ok}, fail...) {
		if err := listen(kind); err != nil {
			removeListeners(target, append([]string{ok}, fail...), funcs)
			release()
			return safejs.Undefined(), err
		}
	}
	done := func() {
		removeListeners(target, append([]string{ok}, fail...), funcs)
		release()
	}
	select {
	case f := <-ch:
		done()
		if f.kind == ok {
			return f.ev, nil
		}
		if e, err := target.Get("error"); err == nil && e.Type() == safejs.TypeObject {
			return f.ev, ToError(e)
		}
		return f.ev, &Error{Name: f.kind, Message: f.kind + " event"}
	case <-ctx.Done():
		// Keep the listeners until the target settles: releasing a
		// function JavaScript still calls would throw.
		go func() { <-ch; done() }()
		return safejs.Undefined(), ctx.Err()
	}
}

func removeListeners(target safejs.Value, kinds []string, funcs []safejs.Func) {
	for i, f := range funcs {
		if i < len(kinds) {
			Call(target, "removeEventListener", kinds[i], f.Value())
		}
	}
}
