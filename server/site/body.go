package site

import (
	"io"
	"net/http"
	"time"
)

// deadlineBody bounds how long a request body may take to arrive. It
// starts with a fixed deadline (Config.BodyTimeout) that a client cannot
// stretch by trickling bytes; a handler that has authenticated the request
// calls ExtendOnProgress, after which every chunk that arrives moves the
// deadline Config.BodyIdle ahead, so a large upload on a slow line runs as
// long as it makes progress. Once the body has been read to its end the
// deadline is lifted, so it cannot cut off a long response.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	grow bool
	done bool
}

// ExtendOnProgress switches the body to a deadline that moves with the
// data: the request's sender has been authenticated.
func (b *deadlineBody) ExtendOnProgress() {
	if !b.grow && !b.done {
		b.grow = true
		b.rc.SetReadDeadline(time.Now().Add(b.idle))
	}
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.done {
		return n, err
	}
	if err == io.EOF {
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	} else if n > 0 && b.grow {
		b.rc.SetReadDeadline(time.Now().Add(b.idle))
	}
	return n, err
}
