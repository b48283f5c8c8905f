//go:build !(js && wasm)

package webserial

import (
	"context"

	"trustforge/internal/browser"
)

// Ports is the browser's Web Serial API; outside a browser its calls fail with
// errs.Unsupported.
var Ports = &browser.DeviceAPI[*Port, Event, Filter]{Missing: errs.Unsupported}

// Port is a serial port of the browser; outside a browser none exists.
type Port struct{}

// Info identifies the port.
func (p *Port) Info() Info { return Info{} }

// Same reports whether p and q are the same browser port.
func (p *Port) Same(q *Port) bool { return p != nil && p == q }

// Open fails with errs.Unsupported outside a browser.
func (p *Port) Open(ctx context.Context, opts Options) error {
	if err := opts.validate(); err != nil {
		return err
	}
	return errs.Unsupported
}

// Read fails with ErrClosed: the port never opens outside a browser.
func (p *Port) Read(ctx context.Context, b []byte) (int, error) { return 0, ErrClosed }

// Write fails with ErrClosed: the port never opens outside a browser.
func (p *Port) Write(ctx context.Context, b []byte) (int, error) { return 0, ErrClosed }

// Disconnected returns nil: the port is never open outside a browser.
func (p *Port) Disconnected() <-chan struct{} { return nil }

// SetSignals fails with ErrClosed outside a browser.
func (p *Port) SetSignals(ctx context.Context, sig Signals) error { return ErrClosed }

// Close does nothing.
func (p *Port) Close() error { return nil }

// Forget fails with errs.Unsupported outside a browser.
func (p *Port) Forget(ctx context.Context) error { return errs.Unsupported }
