package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"trustforge/internal/apiwire"
)

// Part names a release download.
type Part string

// The downloadable parts of a release.
const (
	PartBundle   Part = "bundle"   // NAME.tfb: header, signed manifest and payload
	PartManifest Part = "manifest" // the signed manifest (COSE_Sign1)
	PartPayload  Part = "payload"  // the age-encrypted MCUboot image
)

// route is the API route that downloads the part.
func (p Part) route() apiwire.Route {
	switch p {
	case PartBundle:
		return apiwire.DownloadBundle
	case PartManifest:
		return apiwire.DownloadManifest
	}
	return apiwire.DownloadPayload
}

// Resume says where a download starts.
type Resume struct {
	// Offset is how many bytes are already held from an earlier attempt.
	Offset int64
	// ETag is the ETag that attempt saw; required when Offset is not zero.
	ETag string
	// Retries is how many times to resume after a broken connection.
	Retries int
	// OnETag, when set, is called with the download's ETag before its
	// first byte is written, so a caller can keep it for a later resume.
	OnETag func(etag string) error
}

// Download writes a release part to w, from rs.Offset on, and returns its
// total size. The server sends only the rest when the content is still the
// one rs.ETag names, and ErrChanged is returned when it is not. On a broken
// connection Download resumes where it stopped, up to rs.Retries times.
func (c *Client) Download(ctx context.Context, id string, part Part, w io.Writer, rs Resume) (total int64, err error) {
	for attempt := 0; ; attempt++ {
		var n int64
		n, total, err = c.downloadOnce(ctx, id, part, w, &rs)
		rs.Offset += n
		if err == nil || attempt >= rs.Retries || ctx.Err() != nil {
			return total, err
		}
		var apiErr *Error
		if errors.As(err, &apiErr) || errors.Is(err, ErrChanged) {
			return total, err
		}
	}
}

func (c *Client) downloadOnce(ctx context.Context, id string, part Part, w io.Writer, rs *Resume) (n, total int64, err error) {
	offset := rs.Offset
	req, err := c.newRequest(ctx, "GET", part.route().Path(id), nil)
	if err != nil {
		return 0, 0, err
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		req.Header.Set("If-Range", rs.ETag)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("client: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK && offset > 0:
		return 0, 0, ErrChanged
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && offset > 0:
		// We already hold everything; the server says how much that is.
		var size int64
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes */%d", &size); err == nil && size == offset {
			return 0, size, nil
		}
		return 0, 0, ErrChanged
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent:
		return 0, 0, readError(resp)
	}
	if et := resp.Header.Get("ETag"); et != rs.ETag {
		rs.ETag = et
		if rs.OnETag != nil {
			if err := rs.OnETag(et); err != nil {
				return 0, 0, err
			}
		}
	}
	total = offset + resp.ContentLength
	if resp.StatusCode == http.StatusPartialContent {
		var start, end int64
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &total); err != nil || start != offset {
			return 0, 0, fmt.Errorf("client: bad Content-Range %q for offset %d", resp.Header.Get("Content-Range"), offset)
		}
	}
	n, err = io.Copy(w, resp.Body)
	if err == nil && offset+n != total {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return n, total, fmt.Errorf("client: download %s of %s interrupted after %d of %d bytes: %w", part, id, offset+n, total, err)
	}
	return n, total, nil
}
