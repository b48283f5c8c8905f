package sim

import (
	"errors"
	"net/http"

	"github.com/coder/websocket"
)

// NewESPHandler is NewHandler for an ESPBoard: each WebSocket connection
// becomes the host on the board's UART, binary messages carrying the
// serial bytes.
func NewESPHandler(e *ESPBoard, originPatterns ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: originPatterns})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		ctx := r.Context()
		err = e.Serve(ctx, websocket.NetConn(ctx, c, websocket.MessageBinary))
		if errors.Is(err, ErrReplaced) {
			c.Close(websocket.StatusTryAgainLater, "another client took over the board")
			return
		}
		c.Close(websocket.StatusNormalClosure, "")
	})
}
