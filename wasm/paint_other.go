//go:build !(js && wasm)

package main

import "context"

// afterPaint is nil natively: nothing is painted.
var afterPaint func(context.Context) error
