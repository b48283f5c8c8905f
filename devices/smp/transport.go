package smp

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// Transport carries the serial byte stream to and from a board: a host
// serial port, a pseudo-terminal, the browser's Web Serial port, a WebSocket
// to the board simulator. It is io.ReadWriteCloser with a context on reads
// and writes.
type Transport interface {
	// Read reads at least one byte the board sent, blocking until some
	// arrive, ctx is done, or the transport is closed.
	Read(ctx context.Context, p []byte) (int, error)
	// Write sends all of p, or returns an error saying how much was sent.
	Write(ctx context.Context, p []byte) (int, error)
	// Close ends the transport and unblocks pending calls.
	Close() error
}

type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

type writeDeadliner interface {
	SetWriteDeadline(time.Time) error
}

// FromStream adapts a byte stream (a serial.Port, an *os.File, a net.Conn,
// a pipe) into a Transport. When the stream has SetReadDeadline or
// SetWriteDeadline, a done ctx interrupts a blocked call; otherwise only
// Close does.
func FromStream(rwc io.ReadWriteCloser) Transport {
	return stream{rwc}
}

type stream struct{ rwc io.ReadWriteCloser }

// past is a deadline that has expired.
var past = time.Unix(1, 0)

func (s stream) Read(ctx context.Context, p []byte) (int, error) {
	d, ok := s.rwc.(readDeadliner)
	if !ok || ctx.Done() == nil {
		return s.rwc.Read(p)
	}
	stop := context.AfterFunc(ctx, func() { d.SetReadDeadline(past) })
	n, err := s.rwc.Read(p)
	if !stop() {
		d.SetReadDeadline(time.Time{})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = ctx.Err()
		}
	}
	return n, err
}

func (s stream) Write(ctx context.Context, p []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	d, ok := s.rwc.(writeDeadliner)
	if !ok || ctx.Done() == nil {
		return s.rwc.Write(p)
	}
	stop := context.AfterFunc(ctx, func() { d.SetWriteDeadline(past) })
	n, err := s.rwc.Write(p)
	if !stop() {
		d.SetWriteDeadline(time.Time{})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = ctx.Err()
		}
	}
	return n, err
}

func (s stream) Close() error { return s.rwc.Close() }
