//go:build !linux

package usbfs

import (
	"context"

	"trustforge/devices/dfu"
)

// Conn is an open usbfs device node; outside Linux there is none.
type Conn struct{}

// Open fails outside Linux.
func Open(path string) (*Conn, error) { return nil, ErrUnsupported }

// ControlIn fails outside Linux.
func (c *Conn) ControlIn(ctx context.Context, s dfu.Setup, length int) ([]byte, error) {
	return nil, ErrUnsupported
}

// ControlOut fails outside Linux.
func (c *Conn) ControlOut(ctx context.Context, s dfu.Setup, data []byte) error { return ErrUnsupported }

// SelectAlternate fails outside Linux.
func (c *Conn) SelectAlternate(ctx context.Context, iface, alt uint8) error { return ErrUnsupported }

// Reset fails outside Linux.
func (c *Conn) Reset(ctx context.Context) error { return ErrUnsupported }

// Close does nothing.
func (c *Conn) Close() error { return nil }
