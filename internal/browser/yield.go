//go:build js && wasm

package browser

import (
	"context"

	"github.com/hack-pad/safejs"
)

// Yield lets the browser run: it returns after a macrotask turn of the
// event loop (setTimeout 0), in which the page repaints and handles input.
// WebAssembly runs on the page's only thread, so long computations (hashing
// or encrypting a 16 MiB image) call Yield between chunks to keep the page
// responsive and their progress bars moving.
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
	if _, err := Call(safejs.Global(), "setTimeout", f.Value(), 0); err != nil {
		f.Release()
		return err
	}
	select {
	case <-ch:
		f.Release()
		return nil
	case <-ctx.Done():
		go func() { <-ch; f.Release() }()
		return ctx.Err()
	}
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
