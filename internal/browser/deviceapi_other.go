//go:build !(js && wasm)

package browser

import "context"

// DeviceAPI is one of the browser's device APIs (navigator.serial,
// navigator.usb) as a Go package offers it. Outside a browser there is
// none: every call fails with Missing, the package's error for a browser
// without the API, so that the packages that use one build and test
// natively.
type DeviceAPI[T, E, F any] struct {
	Missing error
}

// Supported reports whether the browser has the API: never outside a
// browser.
func (d *DeviceAPI[T, E, F]) Supported() bool { return false }

// Request fails with Missing outside a browser.
func (d *DeviceAPI[T, E, F]) Request(ctx context.Context, filters ...F) (T, error) {
	var zero T
	return zero, d.Missing
}

// Granted fails with Missing outside a browser.
func (d *DeviceAPI[T, E, F]) Granted(ctx context.Context) ([]T, error) { return nil, d.Missing }

// Watch fails with Missing outside a browser.
func (d *DeviceAPI[T, E, F]) Watch(ctx context.Context) (<-chan E, error) { return nil, d.Missing }
