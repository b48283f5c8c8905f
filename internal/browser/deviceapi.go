//go:build js && wasm

package browser

import (
	"context"
	"errors"

	"github.com/hack-pad/safejs"

	"trustforge/internal/usererr"
)

// OpKind is what a failed device-API call was doing. A package's error
// mapping decides by it, never by the words that name the call: a
// chooser's NotFoundError is the person cancelling, an open's
// NetworkError a port or device that another program holds.
type OpKind int

// The kinds of call a device API's errors are told apart by.
const (
	OpOther OpKind = iota
	OpChoose
	OpOpen
)

// DeviceAPI is one of the browser's device APIs (navigator.serial,
// navigator.usb) as a Go package offers it: its objects made into T, its
// connection events into E and its errors into the package's own; its
// chooser takes filters F.
type DeviceAPI[T, E, F any] struct {
	// Name is the API's navigator property ("serial", "usb"); Missing the
	// package's error for a browser without it.
	Name    string
	Missing error
	// Noun names one object in messages: "port", "device".
	Noun string
	// RequestMethod shows the chooser ("requestPort"); ListMethod lists
	// the objects granted ("getPorts").
	RequestMethod, ListMethod string
	// EventAttr is the connection event's attribute holding the object:
	// "target", "device".
	EventAttr string
	// Wrap makes the package's object; Event its report of a connection
	// event of kind "connect" or "disconnect".
	Wrap  func(safejs.Value) T
	Event func(kind string, t T) E
	// Filter makes a filter the dictionary the chooser takes.
	Filter func(F) map[string]any
	// MapErr turns a failed call into the package's errors; op names the
	// call in messages only, kind decides. It returns nil for nil.
	MapErr func(kind OpKind, op string, err error) error
}

// api returns the navigator object, or Missing.
func (d *DeviceAPI[T, E, F]) api() (safejs.Value, error) { return Navigator(d.Name, d.Missing) }

// Supported reports whether the browser has the API.
func (d *DeviceAPI[T, E, F]) Supported() bool {
	_, err := d.api()
	return err == nil
}

// Request shows the browser's chooser, offering the objects that match
// one of filters, and returns the one picked.
func (d *DeviceAPI[T, E, F]) Request(ctx context.Context, filters ...F) (T, error) {
	var zero T
	api, err := d.api()
	if err != nil {
		return zero, err
	}
	fs := make([]any, len(filters))
	for i, f := range filters {
		fs[i] = d.Filter(f)
	}
	opts, err := safejs.ValueOf(map[string]any{"filters": fs})
	if err != nil {
		return zero, err
	}
	p, err := Call(api, d.RequestMethod, opts)
	if err == nil {
		var v safejs.Value
		if v, err = Await(ctx, p); err == nil {
			return d.Wrap(v), nil
		}
	}
	return zero, d.MapErr(OpChoose, "choosing a "+d.Noun, err)
}

// Granted returns the objects this origin may open without asking.
func (d *DeviceAPI[T, E, F]) Granted(ctx context.Context) ([]T, error) {
	ts, err := Granted(ctx, d.api, d.ListMethod, d.Wrap)
	return ts, d.MapErr(OpOther, "listing "+d.Noun+"s", err)
}

// Watch reports granted objects being plugged in and unplugged until ctx
// is done, when the channel closes (see [WatchConnections]).
func (d *DeviceAPI[T, E, F]) Watch(ctx context.Context) (<-chan E, error) {
	ch, err := WatchConnections(ctx, d.api, d.EventAttr, func(kind string, v safejs.Value) E {
		return d.Event(kind, d.Wrap(v))
	})
	return ch, d.MapErr(OpOther, "watching "+d.Noun+"s", err)
}

// Map turns a rejected call of kind into the shared errors, as both APIs
// report them: a chooser's NotFoundError is the person cancelling, its
// SecurityError a missing click; an open's NetworkError is a device held
// elsewhere, any other call's an unplugged one. It reports false for the
// rejections it leaves to the package. op names the call in messages.
// nil, Unsupported and a cancelled context come back as they are.
func (e DeviceErrors) Map(kind OpKind, op string, err error) (error, bool) {
	if err == nil || errors.Is(err, e.Unsupported) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err, true
	}
	switch ErrorName(err) {
	case "NotFoundError":
		if kind == OpChoose {
			return e.NoneChosen, true
		}
	case "SecurityError":
		if kind == OpChoose {
			return usererr.Errorf("", "%w (%s)", e.NeedsGesture, Detail(err)), true
		}
	case "NetworkError":
		if kind == OpOpen {
			return usererr.Errorf(e.pkg, "%s: %w (%s)", op, e.Busy, Detail(err)), true
		}
		return usererr.Errorf(e.pkg, "%s: %w", op, e.Disconnected), true
	}
	return nil, false
}

// Detail is the browser's own words for err: a rejected call's exception
// message, or err's text.
func Detail(err error) string {
	var be *Error
	if errors.As(err, &be) {
		return be.Message
	}
	return err.Error()
}
