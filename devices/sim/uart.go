package sim

import (
	"context"
	"errors"
	"io"
	"time"

	"trustforge/devices/serial"
)

// line is a host attached to the board's UART.
type line struct {
	out    chan txChunk
	cancel context.CancelCauseFunc // ends its Serve, saying why
}

// txChunk is bytes the board transmits, from start on.
type txChunk struct {
	data  []byte
	start time.Time
	gen   int
}

// rxChunk is bytes read from the host at a moment.
type rxChunk struct {
	data []byte
	at   time.Time
}

// ErrReplaced is returned by Serve when another host took over the UART.
var ErrReplaced = errors.New("sim: another host took over the board's UART")

// Serve connects host to the board's UART, as a cable does, until ctx is
// done, host fails, or another Serve takes over (ErrReplaced). Bytes are
// paced at the board's baud rate both ways. A Read of host still blocked
// when Serve returns ends when the caller closes host.
func (b *Board) Serve(ctx context.Context, host io.ReadWriter) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	l := &line{out: make(chan txChunk, 4096), cancel: cancel}
	b.mu.Lock()
	select {
	case <-b.closed:
		b.mu.Unlock()
		return ErrClosed
	default:
	}
	if b.line != nil {
		b.line.cancel(ErrReplaced)
	}
	b.line = l
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		if b.line == l {
			b.line = nil
		}
		b.mu.Unlock()
	}()

	errc := make(chan error, 2)
	raw := make(chan rxChunk, 1024)
	feed := make(chan []byte, 1024)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := host.Read(buf)
			if n > 0 {
				select {
				case raw <- rxChunk{append([]byte(nil), buf[:n]...), time.Now()}:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	go b.receive(ctx, raw, feed)
	go b.decode(ctx, feed)
	go func() { errc <- b.transmit(ctx, host, l) }()

	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case err := <-errc:
		return err
	}
}

// group returns how many bytes to deliver at once: about a millisecond's
// worth, so that pacing stays fine without waking for every byte.
func (b *Board) group() int {
	if b.byteTime == 0 {
		return 1 << 30
	}
	return max(1, int(time.Millisecond/b.byteTime))
}

// receive delivers the host's bytes to the board when their last bit has
// arrived on the wire.
func (b *Board) receive(ctx context.Context, raw <-chan rxChunk, feed chan<- []byte) {
	var free time.Time // when the receiver has taken every byte so far
	g := b.group()
	for {
		var c rxChunk
		select {
		case c = <-raw:
		case <-ctx.Done():
			return
		}
		start := c.at
		if free.After(start) {
			start = free
		}
		free = start.Add(time.Duration(len(c.data)) * b.byteTime)
		for i := 0; i < len(c.data); i += g {
			end := min(i+g, len(c.data))
			if b.byteTime > 0 && !sleepUntil(ctx, start.Add(time.Duration(end)*b.byteTime)) {
				return
			}
			b.mu.Lock()
			p := b.hostBytesLocked(c.data[i:end])
			b.mu.Unlock()
			if len(p) == 0 {
				continue
			}
			select {
			case feed <- p:
			case <-ctx.Done():
				return
			}
		}
	}
}

type chanReader struct {
	ctx  context.Context
	in   <-chan []byte
	rest []byte
}

func (r *chanReader) Read(p []byte) (int, error) {
	for len(r.rest) == 0 {
		select {
		case r.rest = <-r.in:
		case <-r.ctx.Done():
			return 0, io.EOF
		}
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

// decode turns the received bytes into SMP packets for the board's server.
// Frames longer than an SMP buffer are dropped, as the board has no room for
// them.
func (b *Board) decode(ctx context.Context, feed <-chan []byte) {
	r := serial.NewReader(&chanReader{ctx: ctx, in: feed})
	r.MaxPacket = b.cfg.BufSize - 4
	for {
		pkt, err := r.ReadPacket()
		if errors.Is(err, serial.ErrBadFrame) {
			b.logf("dropped a request frame: %v", err)
			continue
		}
		if err != nil {
			return
		}
		b.mu.Lock()
		q := queued{pkt: pkt, gen: b.gen}
		powered := b.powered
		b.mu.Unlock()
		if !powered {
			continue
		}
		select {
		case b.rxq <- q:
		default:
			b.logf("dropped a request: all %d SMP buffers are busy", b.cfg.BufCount)
		}
	}
}

// transmit writes the board's bytes to the host when their last bit has
// left on the wire.
func (b *Board) transmit(ctx context.Context, host io.Writer, l *line) error {
	g := b.group()
	for {
		var c txChunk
		select {
		case c = <-l.out:
		case <-ctx.Done():
			return nil
		}
		for i := 0; i < len(c.data); i += g {
			end := min(i+g, len(c.data))
			if b.byteTime > 0 && !sleepUntil(ctx, c.start.Add(time.Duration(end)*b.byteTime)) {
				return nil
			}
			b.mu.Lock()
			send := b.gen == c.gen && b.powered && !b.faults.linkDown
			b.mu.Unlock()
			if !send {
				continue
			}
			if _, err := host.Write(c.data[i:end]); err != nil {
				return err
			}
		}
	}
}

// sendLocked queues bytes for the UART. An answer frame may be corrupted by
// an injected fault.
func (b *Board) sendLocked(p []byte, answer bool) {
	now := time.Now()
	start := b.txFree
	if now.After(start) {
		start = now
	}
	b.txFree = start.Add(time.Duration(len(p)) * b.byteTime)
	if answer {
		b.corruptAnswerLocked(p)
	}
	if b.line == nil {
		return // nobody listens: the bytes are lost on the wire
	}
	select {
	case b.line.out <- txChunk{data: p, start: start, gen: b.gen}:
	default:
		b.logf("transmit queue full: dropped %d bytes", len(p))
	}
}

// serveSMP is the board's SMP server: it answers queued requests in order.
func (b *Board) serveSMP() {
	defer b.wg.Done()
	for {
		var q queued
		select {
		case q = <-b.rxq:
		case <-b.closed:
			return
		}
		b.mu.Lock()
		if !b.powered || q.gen != b.gen {
			b.mu.Unlock()
			continue
		}
		ans, after := b.handleLocked(q.pkt)
		delay, gen := b.faults.delay, b.gen
		b.mu.Unlock()
		if ans == nil {
			continue
		}
		frame, err := serial.Encode(ans)
		if err != nil {
			b.logf("framing an answer: %v", err)
			continue
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-b.closed:
				t.Stop()
				return
			}
		}
		b.mu.Lock()
		ok := b.gen == gen && b.powered
		if ok {
			b.sendLocked(frame, true)
		}
		b.mu.Unlock()
		if ok && after != nil {
			after()
		}
	}
}
