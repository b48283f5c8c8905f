package sim

import (
	"errors"
	"net/http"

	"github.com/coder/websocket"
)

// NewHandler returns an http.Handler that attaches each WebSocket connection
// to b's UART: binary messages carry the raw serial bytes both ways, so a
// browser's side is just another byte transport. A new connection takes
// over from the one before, as the last program to open a serial port does.
// originPatterns are the other origins allowed to connect (see
// websocket.AcceptOptions); none allows the same origin only.
func NewHandler(b *Board, originPatterns ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: originPatterns})
		if err != nil {
			return // Accept has answered the request
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20) // a browser may hand over large writes at once
		ctx := r.Context()
		conn := websocket.NetConn(ctx, c, websocket.MessageBinary)
		err = b.Serve(ctx, conn)
		switch {
		case errors.Is(err, ErrReplaced):
			c.Close(websocket.StatusTryAgainLater, "another client took over the board")
		case errors.Is(err, ErrClosed):
			c.Close(websocket.StatusGoingAway, "the board was shut down")
		default:
			c.Close(websocket.StatusNormalClosure, "")
		}
	})
}
