// Package wsboard reaches the simulated board that `trustforge serve
// --demo-board` offers at /demo-board/: a WebSocket whose binary messages
// carry the board's serial bytes both ways (devices/sim's NewHandler). A Conn
// is an smp.Transport, so the console flashes the simulated board with the
// same code as a real one, and a newcomer without hardware can try every
// flow.
//
// It is built on github.com/coder/websocket, which uses the browser's
// WebSocket under js/wasm and net/http elsewhere, so it runs and is tested
// natively too.
package wsboard

import (
	"context"
	"errors"
	"net"
	"net/url"
	"sync"
	"time"

	"trustforge/internal/usererr"

	"github.com/coder/websocket"
)

// Path is where the server mounts the simulated board.
const Path = "/demo-board/"

// Errors callers branch on.
var (
	// ErrTakenOver is returned when another client (another tab) connected
	// to the simulated board, which serves one client at a time.
	ErrTakenOver = usererr.New("wsboard", "another client took over the simulated board")
	// ErrShutDown is returned when the server stopped the simulated board.
	ErrShutDown = usererr.New("wsboard", "the server shut the simulated board down")
	// ErrClosed is returned by calls on a closed Conn.
	ErrClosed = usererr.New("wsboard", "connection closed")
)

// URL returns the simulated board's WebSocket URL for a console at origin,
// such as "http://127.0.0.1:8080" (ws://) or "https://console.example" (wss://).
func URL(origin string) (string, error) {
	u, err := url.Parse(origin)
	if err != nil {
		return "", usererr.Errorf("wsboard", "origin %q: %w", origin, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return "", usererr.Errorf("wsboard", "origin %q is not http or https", origin)
	}
	if u.Host == "" {
		return "", usererr.Errorf("wsboard", "origin %q has no host", origin)
	}
	u.Path, u.RawQuery, u.Fragment = Path, "", ""
	return u.String(), nil
}

// closeReason bounds the wait for the reason of a failed write.
const closeReason = 200 * time.Millisecond

// Conn is a connection to the simulated board. It satisfies smp.Transport.
type Conn struct {
	ws     *websocket.Conn
	chunks chan []byte   // messages the read loop received
	done   chan struct{} // closed when the read loop stops
	stop   context.CancelFunc

	mu   sync.Mutex
	err  error  // why the read loop stopped
	rest []byte // unread part of the last message
}

// Dial connects to the simulated board at url (see URL). Connecting takes
// the board over from any other client.
func Dial(ctx context.Context, url string) (*Conn, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, usererr.Errorf("wsboard", "connecting to the simulated board: %w", err)
	}
	// Serial bytes come in small messages: a frame line is 127 bytes, an
	// answer a few lines, a millisecond of a fast line a few hundred.
	ws.SetReadLimit(1 << 20)
	rctx, stop := context.WithCancel(context.Background())
	c := &Conn{ws: ws, chunks: make(chan []byte, 64), done: make(chan struct{}), stop: stop}
	go c.readLoop(rctx)
	return c, nil
}

// readLoop receives messages until the connection ends. It reads with a
// context of its own: a caller giving up on a Read must not end the
// connection, which cancelling a WebSocket read does.
func (c *Conn) readLoop(ctx context.Context) {
	defer close(c.done)
	defer close(c.chunks)
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			c.mu.Lock()
			c.err = c.mapErr(err)
			c.mu.Unlock()
			return
		}
		if typ != websocket.MessageBinary || len(data) == 0 {
			continue
		}
		select {
		case c.chunks <- data:
		case <-ctx.Done():
			c.mu.Lock()
			c.err = ErrClosed
			c.mu.Unlock()
			return
		}
	}
}

// Read reads bytes the board sent, waiting for at least one.
func (c *Conn) Read(ctx context.Context, p []byte) (int, error) {
	c.mu.Lock()
	rest := c.rest
	c.mu.Unlock()
	if len(rest) == 0 {
		select {
		case m, ok := <-c.chunks:
			if !ok {
				c.mu.Lock()
				defer c.mu.Unlock()
				return 0, c.err
			}
			rest = m
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	n := copy(p, rest)
	c.mu.Lock()
	c.rest = rest[n:]
	c.mu.Unlock()
	return n, nil
}

// Write sends p to the board as one message.
func (c *Conn) Write(ctx context.Context, p []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := c.ws.Write(ctx, websocket.MessageBinary, p); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		// A write fails when the board's side closed; its close frame,
		// which says why, reaches the read loop a moment later.
		t := time.NewTimer(closeReason)
		defer t.Stop()
		select {
		case <-c.done:
			c.mu.Lock()
			defer c.mu.Unlock()
			return 0, c.err
		case <-t.C:
		}
		return 0, c.mapErr(err)
	}
	return len(p), nil
}

// Close closes the connection; the board stays as it is, as a board does
// when its serial cable is pulled.
func (c *Conn) Close() error {
	// The error says only whether the board's side closed first.
	c.ws.Close(websocket.StatusNormalClosure, "")
	c.stop()
	<-c.done
	return nil
}

func (c *Conn) mapErr(err error) error {
	switch websocket.CloseStatus(err) {
	case websocket.StatusTryAgainLater:
		return ErrTakenOver
	case websocket.StatusGoingAway:
		return ErrShutDown
	case websocket.StatusNormalClosure:
		return ErrClosed
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, net.ErrClosed) {
		return ErrClosed
	}
	return usererr.Errorf("wsboard", "%w", err)
}
