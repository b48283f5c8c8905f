//go:build js && wasm

package browser

import (
	"context"

	"github.com/hack-pad/safejs"
)

// Yield lets the browser run: it returns after a macrotask turn of the
// event loop, in which the page repaints when a frame is due and handles
// input. WebAssembly runs on the page's only thread, so long computations
// (hashing or encrypting a 16 MiB image) call Yield between chunks to keep
// the page responsive and their progress bars moving.
//
// The turn is a message posted to a MessageChannel, not a setTimeout 0:
// browsers hold a timer set from within timers (as Go's own scheduling
// nests them) for at least 4 ms, which a publish yielding every 20 ms paid
// hundreds of times. setTimeout serves where there is no MessageChannel.
func Yield(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ch := make(chan struct{}, 1)
	f, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		ch <- struct{}{}
		return nil
	})
	if err != nil {
		return err
	}
	port, err := postTurn(f)
	if err != nil {
		f.Release()
		return err
	}
	done := func() {
		f.Release()
		if port.Type() == safejs.TypeObject {
			Call(port, "close")
		}
	}
	select {
	case <-ch:
		done()
		return nil
	case <-ctx.Done():
		go func() { <-ch; done() }()
		return ctx.Err()
	}
}

// postTurn has f called in a later macrotask: through a new
// MessageChannel, whose receiving port it returns, or setTimeout 0.
func postTurn(f safejs.Func) (safejs.Value, error) {
	if ctor, err := safejs.Global().Get("MessageChannel"); err == nil && ctor.Type() == safejs.TypeFunction {
		if mc, err := ctor.New(); err == nil {
			p1, err1 := mc.Get("port1")
			p2, err2 := mc.Get("port2")
			if err1 == nil && err2 == nil {
				if err := p1.Set("onmessage", f.Value()); err == nil {
					if _, err := Call(p2, "postMessage", nil); err == nil {
						return p1, nil
					}
				}
			}
		}
	}
	_, err := Call(safejs.Global(), "setTimeout", f.Value(), 0)
	return safejs.Undefined(), err
}

// AfterPaint returns once the browser has painted the page as it stands:
// a requestAnimationFrame callback runs just before the next paint, and a
// timer it sets runs after it. The console waits for it before starting
// work the first page does not need (the vault's IndexedDB scan, the
// session check, syncs), so that page shows first.
func AfterPaint(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ch := make(chan struct{}, 1)
	var after, frame safejs.Func
	after, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		ch <- struct{}{}
		return nil
	})
	if err != nil {
		return err
	}
	frame, err = safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		if _, err := Call(safejs.Global(), "setTimeout", after.Value(), 0); err != nil {
			ch <- struct{}{}
		}
		return nil
	})
	if err != nil {
		after.Release()
		return err
	}
	release := func() { frame.Release(); after.Release() }
	if _, err := Call(safejs.Global(), "requestAnimationFrame", frame.Value()); err != nil {
		release()
		return err
	}
	select {
	case <-ch:
		release()
		return nil
	case <-ctx.Done():
		go func() { <-ch; release() }()
		return ctx.Err()
	}
}
