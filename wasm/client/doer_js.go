//go:build js && wasm

package client

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"trustforge/internal/browser"
	"trustforge/internal/usererr"
)

// defaultDoer sends requests with the browser's Fetch API.
func defaultDoer() Doer { return fetchDoer{} }

// fetchDoer is a Doer over the Fetch API, with no net/http transport.
type fetchDoer struct{}

// maxRequestBody bounds a request body read into memory before sending:
// JSON requests are small, and uploads go through the Uploader.
const maxRequestBody = 2 << 30

func (fetchDoer) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxRequestBody))
		req.Body.Close()
		if err != nil {
			return nil, usererr.Errorf("client", "reading the request body: %w", err)
		}
		body = b
	}
	hdr := map[string]string{}
	for k, vs := range req.Header {
		if len(vs) > 0 {
			hdr[k] = vs[0]
		}
	}
	fr, err := browser.Fetch(req.Context(), req.Method, req.URL.String(), hdr, body)
	if err != nil {
		return nil, err
	}
	resp := &http.Response{
		Status:        strconv.Itoa(fr.Status) + " " + http.StatusText(fr.Status),
		StatusCode:    fr.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{},
		Body:          fr.Body,
		ContentLength: -1,
		Request:       req,
	}
	for k, v := range fr.Header {
		resp.Header.Set(k, v)
	}
	if n, err := strconv.ParseInt(fr.Header["content-length"], 10, 64); err == nil && fr.Header["content-encoding"] == "" {
		resp.ContentLength = n
	}
	if req.Method == http.MethodHead {
		resp.Body = io.NopCloser(bytes.NewReader(nil))
	}
	return resp, nil
}
