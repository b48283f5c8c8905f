package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
)

// ErrChanged is returned by DownloadRange when the download resumed from
// an offset no longer belongs to the same content (its ETag changed): the
// caller drops what it holds and starts again from zero.
var ErrChanged = usererr.New("client", "the download changed since it started")

// Ranged says where a resumable download starts.
type Ranged struct {
	// Offset is how many bytes the caller already holds.
	Offset int64
	// ETag is the download's ETag when it started; required when Offset
	// is not zero.
	ETag string
}

// partRoute is the API route that downloads a release part.
func partRoute(part string) apiwire.Route {
	switch part {
	case "bundle":
		return apiwire.DownloadBundle
	case "manifest":
		return apiwire.DownloadManifest
	}
	return apiwire.DownloadPayload
}

// DownloadRange downloads a release part ("bundle", "manifest" or
// "payload") from r.Offset on, passing the bytes to w as they arrive, and
// returns the part's total size and ETag. With an offset it asks for the
// rest only (HTTP Range with If-Range), so an interrupted download goes on
// where it stopped; ErrChanged means the content changed meanwhile.
func (c *Client) DownloadRange(ctx context.Context, id, part string, r Ranged, w io.Writer) (total int64, etag string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+partRoute(part).Path(id), nil)
	if err != nil {
		return 0, "", usererr.Errorf("client", "%w", err)
	}
	for k, v := range c.headers(ctx, http.MethodGet, nil) {
		req.Header.Set(k, v)
	}
	if r.Offset > 0 {
		if r.ETag == "" {
			return 0, "", usererr.New("client", "resuming a download needs its ETag")
		}
		req.Header.Set("Range", "bytes="+strconv.FormatInt(r.Offset, 10)+"-")
		req.Header.Set("If-Range", r.ETag)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, "", ctx.Err()
		}
		return 0, "", usererr.Errorf("client", "downloading release %s: the server cannot be reached: %w", id, err)
	}
	defer resp.Body.Close()
	etag = resp.Header.Get("ETag")
	switch {
	case resp.StatusCode == http.StatusOK && r.Offset > 0:
		return 0, etag, ErrChanged
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && r.Offset > 0:
		// Everything is held already, if the server's size agrees.
		var size int64
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes */%d", &size); err == nil && size == r.Offset {
			return size, r.ETag, nil
		}
		return 0, etag, ErrChanged
	case resp.StatusCode >= 400:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return 0, etag, decodeError(resp.StatusCode, b)
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent:
		return 0, etag, usererr.Errorf("client", "downloading release %s: unexpected HTTP %d", id, resp.StatusCode)
	}
	total = resp.ContentLength
	if resp.StatusCode == http.StatusPartialContent {
		var start, end int64
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &total); err != nil || start != r.Offset {
			return 0, etag, usererr.Errorf("client", "downloading release %s: the server sent range %q for offset %d",
				id, resp.Header.Get("Content-Range"), r.Offset)
		}
	}
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(w, resp.Body, buf); err != nil {
		if ctx.Err() != nil {
			return total, etag, ctx.Err()
		}
		return total, etag, usererr.Errorf("client", "downloading release %s: %w", id, err)
	}
	return total, etag, nil
}

// Latest returns the highest release offered on a product's channel for a
// component (0: the application).
func (c *Client) Latest(ctx context.Context, product, channel string, component int) (Release, error) {
	var rel Release
	err := c.call(ctx, apiwire.Latest.Method, apiwire.Latest.Path(product, channel)+
		"?component="+strconv.Itoa(component), nil, &rel)
	return rel, err
}

// RecordUpdate sends the record of a device update (a fwupdate.Record) to
// the server's audit log. A record sent again, because the answer to the
// first attempt was lost, is logged again with the same record ID.
func (c *Client) RecordUpdate(ctx context.Context, record any) error {
	return c.call(ctx, apiwire.RecordDeviceUpdate.Method, apiwire.RecordDeviceUpdate.Path(), record, nil)
}
