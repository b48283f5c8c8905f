//go:build js && wasm

package browser

import (
	"context"
	"errors"

	"github.com/hack-pad/safejs"
)

// Error is a JavaScript exception or promise rejection: usually a
// DOMException, whose Name tells its kind ("NotFoundError", "NetworkError",
// "AbortError", "InvalidStateError", ...).
type Error struct {
	Name    string
	Message string
}

func (e *Error) Error() string { return "browser: " + e.UserMessage() }

// UserMessage is the exception for people: its name and message.
func (e *Error) UserMessage() string {
	if e.Name == "" {
		return e.Message
	}
	return e.Name + ": " + e.Message
}

// ErrorName returns the JavaScript error name carried by err ("NotFoundError"
// ...), or "" when err is not an *Error.
func ErrorName(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Name
	}
	return ""
}

// ToError converts a thrown or rejected JavaScript value into an *Error.
func ToError(v safejs.Value) error {
	e := &Error{}
	if v.Type() == safejs.TypeObject {
		if n, err := v.Get("name"); err == nil && n.Type() == safejs.TypeString {
			e.Name, _ = n.String()
		}
		if m, err := v.Get("message"); err == nil && m.Type() == safejs.TypeString {
			e.Message, _ = m.String()
		}
	}
	if e.Message == "" {
		if s, err := v.String(); err == nil {
			e.Message = s
		}
	}
	if e.Message == "" {
		e.Message = "unknown JavaScript error"
	}
	return e
}

// wrapErr turns a safejs error (a JavaScript exception caught during a
// synchronous call) into *Error. safejs keeps only the exception's text, so
// Name stays empty; promise rejections, which carry the name, come through
// Await.
func wrapErr(err error) error {
	var se safejs.Error
	if errors.As(err, &se) {
		return &Error{Message: se.Error()}
	}
	return err
}

// Call calls v[method](args...) and converts a thrown exception into *Error.
func Call(v safejs.Value, method string, args ...any) (safejs.Value, error) {
	r, err := v.Call(method, args...)
	if err != nil {
		return safejs.Undefined(), wrapErr(err)
	}
	return r, nil
}

type settled struct {
	v   safejs.Value
	err error
}

// Await waits for a promise (or any value: a non-promise resolves at once)
// and returns its value, or its rejection as an *Error. When ctx is done first
// Await returns ctx.Err(); the promise is left to settle on its own.
func Await(ctx context.Context, promise safejs.Value) (safejs.Value, error) {
	ch := make(chan settled, 1)
	onOK, err := safejs.FuncOf(func(this safejs.Value, args []safejs.Value) any {
		v := safejs.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- settled{v: v}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	onFail, err := safejs.FuncOf(func(this safejs.Value, args []safejs.Value) any {
		v := safejs.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- settled{err: ToError(v)}
		return nil
	})
	if err != nil {
		onOK.Release()
		return safejs.Undefined(), err
	}
	release := func() { onOK.Release(); onFail.Release() }

	ctor, err := safejs.Global().Get("Promise")
	if err != nil {
		release()
		return safejs.Undefined(), err
	}
	p, err := Call(ctor, "resolve", promise)
	if err != nil {
		release()
		return safejs.Undefined(), err
	}
	if _, err := Call(p, "then", onOK.Value(), onFail.Value()); err != nil {
		release()
		return safejs.Undefined(), err
	}
	select {
	case r := <-ch:
		release()
		return r.v, r.err
	case <-ctx.Done():
		// The callbacks must outlive the promise: releasing them now would
		// make its settling throw.
		go func() { <-ch; release() }()
		return safejs.Undefined(), ctx.Err()
	}
}
