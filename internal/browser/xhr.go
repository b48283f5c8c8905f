//go:build js && wasm

package browser

import (
	"bytes"
	"context"
	"time"

	"trustforge/internal/usererr"

	"github.com/hack-pad/safejs"
)

// Request is an HTTP request sent by Send.
type Request struct {
	Method string            // "POST", "PUT", ...
	URL    string            // absolute, or relative to the page
	Header map[string]string // request headers
	// Body is the request body in parts, sent one after another (nil:
	// none). It is copied into JavaScript memory a piece at a time, with
	// the page given turns between pieces (see bodyToJS).
	Body [][]byte
	// Progress, when set, is called as the body uploads with the bytes
	// sent so far and the total. It runs in a browser event handler: it
	// must not block.
	Progress func(sent, total int64)
}

// Response is the answer to a Request.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

// Send sends req with XMLHttpRequest, the one browser API that reports
// upload progress on HTTP/1.1, and returns the response whatever its
// status. Cancelling ctx aborts the request. Cookies of the page's origin
// go with it, as with fetch on the same origin.
func Send(ctx context.Context, req Request) (*Response, error) {
	ctor, err := safejs.Global().Get("XMLHttpRequest")
	if err != nil {
		return nil, err
	}
	xhr, err := ctor.New()
	if err != nil {
		return nil, wrapErr(err)
	}
	if _, err := Call(xhr, "open", req.Method, req.URL); err != nil {
		return nil, err
	}
	if err := xhr.Set("responseType", "arraybuffer"); err != nil {
		return nil, wrapErr(err)
	}
	for k, v := range req.Header {
		if _, err := Call(xhr, "setRequestHeader", k, v); err != nil {
			return nil, err
		}
	}
	var progress safejs.Func
	if req.Progress != nil {
		up, err := xhr.Get("upload")
		if err != nil {
			return nil, err
		}
		progress, err = safejs.FuncOf(func(this safejs.Value, args []safejs.Value) any {
			if len(args) == 0 {
				return nil
			}
			loaded, _ := args[0].Get("loaded")
			total, _ := args[0].Get("total")
			l, _ := loaded.Float()
			t, _ := total.Float()
			req.Progress(int64(l), int64(t))
			return nil
		})
		if err != nil {
			return nil, err
		}
		defer progress.Release()
		if _, err := Call(up, "addEventListener", "progress", progress.Value()); err != nil {
			return nil, err
		}
		defer Call(up, "removeEventListener", "progress", progress.Value())
	}
	body := safejs.Null()
	if req.Body != nil {
		if body, err = bodyToJS(ctx, req.Body); err != nil {
			return nil, err
		}
	}
	if _, err := Call(xhr, "send", body); err != nil {
		return nil, err
	}
	if _, err := WaitEvent(ctx, xhr, "load", "error", "abort", "timeout"); err != nil {
		if ctx.Err() != nil {
			Call(xhr, "abort")
			return nil, ctx.Err()
		}
		return nil, usererr.Errorf("browser", "%s %s: network error", req.Method, req.URL)
	}
	resp := &Response{}
	st, _ := xhr.Get("status")
	resp.Status, _ = st.Int()
	if ct, err := Call(xhr, "getResponseHeader", "Content-Type"); err == nil && ct.Type() == safejs.TypeString {
		resp.ContentType, _ = ct.String()
	}
	if r, err := xhr.Get("response"); err == nil && r.Type() == safejs.TypeObject {
		if resp.Body, err = BytesFromJS(r); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// A body longer than blobPiece is copied out of the WebAssembly memory
// at most blobPiece at a time, each piece into a Blob, with the page given
// a turn once blobYieldEvery has passed since the last; the request sends
// the Blob made of them, which joins them without copying. Copying a
// 64 MiB bundle in one call, then sending it, froze the page for over a
// second, and 4 MiB pieces (a Uint8Array then a Blob of that size each)
// still held it for tens of milliseconds on a loaded machine.
const (
	blobPiece      = 1 << 20
	blobYieldEvery = 10 * time.Millisecond
)

// bodyToJS returns parts, joined, as a request body: a Uint8Array, or a
// Blob when they are longer than blobPiece.
func bodyToJS(ctx context.Context, parts [][]byte) (safejs.Value, error) {
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	blobCtor, err := safejs.Global().Get("Blob")
	if total <= blobPiece || err != nil || blobCtor.Type() != safejs.TypeFunction {
		return BytesToJS(bytes.Join(parts, nil))
	}
	var pieces []any
	last := time.Now()
	for _, b := range parts {
		for len(b) > 0 {
			k := min(len(b), blobPiece)
			u8, err := BytesToJS(b[:k])
			if err != nil {
				return safejs.Undefined(), err
			}
			piece, err := blobCtor.New([]any{u8})
			if err != nil {
				return safejs.Undefined(), wrapErr(err)
			}
			pieces = append(pieces, piece)
			b = b[k:]
			if time.Since(last) >= blobYieldEvery {
				if err := Yield(ctx); err != nil {
					return safejs.Undefined(), err
				}
				last = time.Now()
			}
		}
	}
	all, err := blobCtor.New(pieces)
	if err != nil {
		return safejs.Undefined(), wrapErr(err)
	}
	return all, nil
}
