//go:build js && wasm

package client

import (
	"context"

	"trustforge/internal/browser"
	"trustforge/internal/usererr"
)

// DefaultUploader returns the uploader of the platform: in the browser,
// XMLHttpRequest, which reports upload progress on HTTP/1.1 (fetch cannot
// stream a request body there).
func DefaultUploader() Uploader { return xhrUploader{} }

type xhrUploader struct{}

func (xhrUploader) Upload(ctx context.Context, method, url string, header map[string]string, body [][]byte,
	progress func(sent, total int64)) (int, string, []byte, error) {
	resp, err := browser.Send(ctx, browser.Request{Method: method, URL: url, Header: header, Body: body, Progress: progress})
	if err != nil {
		return 0, "", nil, err
	}
	return resp.Status, resp.ContentType, resp.Body, nil
}

// UploadKept sends head, then a payload the console's worker keeps
// (a *browser.KeptPayload), from the worker.
func (xhrUploader) UploadKept(ctx context.Context, method, url string, header map[string]string, head []byte, kept KeptBody,
	progress func(sent, total int64)) (int, string, []byte, error) {
	p, ok := kept.(*browser.KeptPayload)
	if !ok {
		return 0, "", nil, usererr.Errorf("client", "upload: a payload of type %T is not the worker's", kept)
	}
	resp, err := p.Upload(ctx, method, url, header, head, progress)
	if err != nil {
		return 0, "", nil, err
	}
	return resp.Status, resp.ContentType, resp.Body, nil
}
