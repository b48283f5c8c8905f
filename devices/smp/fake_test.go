package smp

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"trustforge/devices/serial"
)

// fakeBoard is an in-memory Transport whose far end is a handler: each
// request the client writes is decoded and handed to handle, and whatever
// bytes it returns are what the client reads next.
type fakeBoard struct {
	handle func(h Header, body []byte) []byte

	mu       sync.Mutex
	in       bytes.Buffer // bytes written by the client, not yet decoded
	dec      *serial.Reader
	frames   [][]byte // every frame the client wrote, as written
	requests []Header
	inFlight int // requests not answered yet (for handlers that queue)
	maxBusy  int

	out    chan []byte
	closed chan struct{}
	once   sync.Once
}

func newFakeBoard(handle func(h Header, body []byte) []byte) *fakeBoard {
	f := &fakeBoard{handle: handle, out: make(chan []byte, 1024), closed: make(chan struct{})}
	f.dec = serial.NewReader(&f.in)
	return f
}

func (f *fakeBoard) Write(ctx context.Context, p []byte) (int, error) {
	select {
	case <-f.closed:
		return 0, io.ErrClosedPipe
	default:
	}
	f.mu.Lock()
	f.frames = append(f.frames, bytes.Clone(p))
	f.in.Write(p)
	var replies [][]byte
	for {
		pkt, err := f.dec.ReadPacket()
		if err != nil {
			break
		}
		h, body, err := DecodePacket(pkt)
		if err != nil {
			continue
		}
		f.requests = append(f.requests, h)
		if r := f.handle(h, body); r != nil {
			replies = append(replies, r)
		}
	}
	f.mu.Unlock()
	for _, r := range replies {
		f.out <- r
	}
	return len(p), nil
}

func (f *fakeBoard) Read(ctx context.Context, p []byte) (int, error) {
	select {
	case b := <-f.out:
		n := copy(p, b)
		if n < len(b) {
			// Put the rest back in front: rare, buffers are large.
			rest := bytes.Clone(b[n:])
			go func() { f.out <- rest }()
		}
		return n, nil
	case <-f.closed:
		return 0, io.EOF
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (f *fakeBoard) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

func (f *fakeBoard) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// reply builds the framed answer to h with body v encoded as CBOR.
func reply(t testing.TB, h Header, v any) []byte {
	t.Helper()
	body, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return replyRaw(t, h, body)
}

func replyRaw(t testing.TB, h Header, body []byte) []byte {
	t.Helper()
	h.Op++
	pkt, err := EncodePacket(h, body)
	if err != nil {
		t.Fatal(err)
	}
	f, err := serial.Encode(pkt)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newTestClient(t *testing.T, f *fakeBoard, opts *Options) *Client {
	t.Helper()
	c := NewClient(f, opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// syncWriter makes a writer safe for the client's reader goroutine and the
// test to share.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
