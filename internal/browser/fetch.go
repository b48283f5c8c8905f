//go:build js && wasm

package browser

import (
	"context"
	"io"
	"strings"

	"trustforge/internal/usererr"

	"github.com/hack-pad/safejs"
)

// FetchResponse is the answer to Fetch: status and headers at once, the
// body streamed.
type FetchResponse struct {
	Status int
	// Header holds the response headers, names in lower case.
	Header map[string]string
	// Body streams the response body. Close it.
	Body io.ReadCloser
}

// Fetch sends a request with the Fetch API (cookies of the page's origin
// go with same-origin requests) and returns once the response's headers
// have arrived. Cancelling ctx aborts the request, body included.
func Fetch(ctx context.Context, method, url string, header map[string]string, body []byte) (*FetchResponse, error) {
	g := safejs.Global()
	ctrlCtor, err := g.Get("AbortController")
	if err != nil {
		return nil, err
	}
	ctrl, err := ctrlCtor.New()
	if err != nil {
		return nil, wrapErr(err)
	}
	signal, err := ctrl.Get("signal")
	if err != nil {
		return nil, err
	}
	hdrs := map[string]any{}
	for k, v := range header {
		hdrs[k] = v
	}
	init := map[string]any{"method": method, "headers": hdrs, "credentials": "same-origin", "cache": "no-store"}
	opts, err := safejs.ValueOf(init)
	if err != nil {
		return nil, err
	}
	if err := opts.Set("signal", signal); err != nil {
		return nil, wrapErr(err)
	}
	if body != nil {
		arr, err := BytesToJS(body)
		if err != nil {
			return nil, err
		}
		if err := opts.Set("body", arr); err != nil {
			return nil, wrapErr(err)
		}
	}
	p, err := Call(g, "fetch", url, opts)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { Call(ctrl, "abort") })
	resp, err := Await(ctx, p)
	if err != nil {
		stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, usererr.Errorf("browser", "%s %s: %w", method, url, err)
	}
	out := &FetchResponse{Header: map[string]string{}}
	st, _ := resp.Get("status")
	out.Status, _ = st.Int()
	if h, err := resp.Get("headers"); err == nil {
		each, err := safejs.FuncOf(func(this safejs.Value, args []safejs.Value) any {
			if len(args) >= 2 {
				v, _ := args[0].String()
				k, _ := args[1].String()
				out.Header[strings.ToLower(k)] = v
			}
			return nil
		})
		if err == nil {
			Call(h, "forEach", each.Value())
			each.Release()
		}
	}
	rb, err := resp.Get("body")
	if err != nil || rb.IsNull() || rb.IsUndefined() {
		stop()
		out.Body = io.NopCloser(strings.NewReader(""))
		return out, nil
	}
	reader, err := Call(rb, "getReader")
	if err != nil {
		stop()
		return nil, err
	}
	out.Body = &streamBody{ctx: ctx, reader: reader, stop: stop}
	return out, nil
}

// streamBody reads a ReadableStream of Uint8Arrays.
type streamBody struct {
	ctx    context.Context
	reader safejs.Value
	stop   func() bool
	buf    []byte
	done   bool
}

func (b *streamBody) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.done {
			return 0, io.EOF
		}
		p, err := Call(b.reader, "read")
		if err != nil {
			return 0, err
		}
		r, err := Await(b.ctx, p)
		if err != nil {
			if b.ctx.Err() != nil {
				return 0, b.ctx.Err()
			}
			return 0, usererr.Errorf("browser", "reading a response: %w", err)
		}
		d, _ := r.Get("done")
		if done, _ := d.Bool(); done {
			b.done = true
			continue
		}
		v, err := r.Get("value")
		if err != nil {
			return 0, err
		}
		if b.buf, err = BytesFromJS(v); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

func (b *streamBody) Close() error {
	if !b.done {
		Call(b.reader, "cancel")
		b.done = true
	}
	b.stop()
	return nil
}
