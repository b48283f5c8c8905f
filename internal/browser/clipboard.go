//go:build js && wasm

package browser

import (
	"context"

	"github.com/hack-pad/safejs"
)

// CopyText puts text on the system clipboard (navigator.clipboard), which
// browsers allow in a secure context while handling a user's click.
func CopyText(ctx context.Context, text string) error {
	nav, err := safejs.Global().Get("navigator")
	if err != nil {
		return wrapErr(err)
	}
	cb, err := nav.Get("clipboard")
	if err != nil {
		return wrapErr(err)
	}
	if cb.IsUndefined() {
		return &Error{Name: "NotSupportedError", Message: "this browser offers no clipboard here; select the text and copy it"}
	}
	p, err := Call(cb, "writeText", text)
	if err != nil {
		return err
	}
	_, err = Await(ctx, p)
	return err
}
