package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"

	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
)

// SignIn signs in with a name and password; the server sets the session
// cookie and the client keeps the CSRF token for later changes.
func (c *Client) SignIn(ctx context.Context, name, password string) (Session, error) {
	var s Session
	err := c.call(ctx, apiwire.SignIn.Method, apiwire.SignIn.Path(), apiwire.SignInRequest{Name: name, Password: password}, &s)
	if err == nil {
		c.setCSRF(s.CSRFToken)
	}
	return s, err
}

// Session returns the current session, as after a reload; an *Error with
// Status 401 means nobody is signed in.
func (c *Client) Session(ctx context.Context) (Session, error) {
	var s Session
	err := c.call(ctx, apiwire.GetSession.Method, apiwire.GetSession.Path(), nil, &s)
	var apiErr *Error
	switch {
	case err == nil:
		c.setCSRF(s.CSRFToken)
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
		c.setCSRF("") // nobody is signed in: no session to expect
	}
	return s, err
}

// SignOut ends the session.
func (c *Client) SignOut(ctx context.Context) error {
	err := c.call(ctx, apiwire.SignOut.Method, apiwire.SignOut.Path(), nil, nil)
	c.setCSRF("")
	return err
}

// Products lists the products.
func (c *Client) Products(ctx context.Context) ([]Product, error) {
	var out apiwire.ProductList
	err := c.call(ctx, apiwire.ListProducts.Method, apiwire.ListProducts.Path(), nil, &out)
	return out.Products, err
}

// Keys lists a product's release-signing keys, revoked ones included.
func (c *Client) Keys(ctx context.Context, product string) ([]Key, error) {
	var out apiwire.KeyList
	err := c.call(ctx, apiwire.ListKeys.Method, apiwire.ListKeys.Path(product), nil, &out)
	return out.Keys, err
}

// AddKey registers a public signing key (PEM) with a product.
func (c *Client) AddKey(ctx context.Context, product, publicPEM, comment string) (Key, error) {
	var k Key
	err := c.call(ctx, apiwire.AddKey.Method, apiwire.AddKey.Path(product),
		apiwire.AddKeyRequest{PublicKey: publicPEM, Comment: comment}, &k)
	return k, err
}

// SetRecipient publishes the signed-in account's age recipient in the
// server's directory, so engineers can encrypt releases to it by name.
func (c *Client) SetRecipient(ctx context.Context, recipient string) (Recipient, error) {
	var r Recipient
	err := c.call(ctx, apiwire.SetRecipient.Method, apiwire.SetRecipient.Path(), apiwire.SetRecipientRequest{Recipient: recipient}, &r)
	return r, err
}

// Recipients lists the published age recipients.
func (c *Client) Recipients(ctx context.Context) ([]Recipient, error) {
	var out apiwire.RecipientList
	err := c.call(ctx, apiwire.Recipients.Method, apiwire.Recipients.Path(), nil, &out)
	return out.Recipients, err
}

// Filter selects releases; zero fields match everything.
type Filter = apiwire.ReleaseFilter

// Releases lists releases, newest upload first.
func (c *Client) Releases(ctx context.Context, f Filter) ([]Release, error) {
	var out apiwire.ReleaseList
	err := c.call(ctx, apiwire.ListReleases.Method, apiwire.ListReleases.Path()+"?"+f.Encode(), nil, &out)
	return out.Releases, err
}

// Publish uploads a complete .tfb bundle, given in parts sent one after
// another (as the console builds it: see trustforge/internal/blocks),
// calling progress (when not nil) as it uploads.
func (c *Client) Publish(ctx context.Context, bundle [][]byte, progress func(sent, total int64)) (Release, error) {
	path := apiwire.PublishRelease.Path()
	h := c.headers(ctx, http.MethodPost, map[string]string{"Content-Type": "application/vnd.trustforge.bundle"})
	var (
		status int
		body   []byte
		err    error
	)
	if c.Uploader != nil {
		status, _, body, err = c.Uploader.Upload(ctx, http.MethodPost, c.BaseURL+path, h, bundle, progress)
	} else {
		status, body, err = c.uploadHTTP(ctx, path, h, bundle, progress)
	}
	return publishAnswer(ctx, status, body, err)
}

// KeptBody is the end of an upload's body that the uploader sends from
// where it is kept, not from Go's memory: in the console, a bundle's
// payload in its worker (browser.KeptPayload).
type KeptBody interface{ Len() int64 }

// KeptUploader is an Uploader that can send a KeptBody after head.
type KeptUploader interface {
	UploadKept(ctx context.Context, method, url string, header map[string]string, head []byte, kept KeptBody,
		progress func(sent, total int64)) (status int, contentType string, respBody []byte, err error)
}

// PublishKept is Publish for a bundle made of head (its header and signed
// manifest) and a payload kept where the Uploader can send it from.
func (c *Client) PublishKept(ctx context.Context, head []byte, kept KeptBody, progress func(sent, total int64)) (Release, error) {
	ku, ok := c.Uploader.(KeptUploader)
	if !ok {
		return Release{}, usererr.New("client", "upload: this platform cannot send a payload it does not hold")
	}
	h := c.headers(ctx, http.MethodPost, map[string]string{"Content-Type": "application/vnd.trustforge.bundle"})
	status, _, body, err := ku.UploadKept(ctx, http.MethodPost, c.BaseURL+apiwire.PublishRelease.Path(), h, head, kept, progress)
	return publishAnswer(ctx, status, body, err)
}

// publishAnswer reads the server's answer to a publish.
func publishAnswer(ctx context.Context, status int, body []byte, err error) (Release, error) {
	var rel Release
	if err != nil {
		if ctx.Err() != nil {
			return rel, ctx.Err()
		}
		return rel, usererr.Errorf("client", "upload: %w", err)
	}
	if status >= 400 {
		return rel, decodeError(status, body)
	}
	if err := decodeJSON(body, &rel); err != nil {
		return rel, usererr.Errorf("client", "upload answer: %w", err)
	}
	return rel, nil
}

func (c *Client) uploadHTTP(ctx context.Context, path string, h map[string]string, parts [][]byte, progress func(sent, total int64)) (int, []byte, error) {
	var size int64
	for _, p := range parts {
		size += int64(len(p))
	}
	data := net.Buffers(slices.Clone(parts))
	body := &countingReader{r: &data, total: size, progress: progress}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.ContentLength = size
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, b, err
}

type countingReader struct {
	r        io.Reader
	n, total int64
	progress func(sent, total int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(c.n, c.total)
	}
	return n, err
}

// Promote offers a release on another channel.
func (c *Client) Promote(ctx context.Context, id, channel string) (Release, error) {
	var rel Release
	err := c.call(ctx, apiwire.PromoteRelease.Method, apiwire.PromoteRelease.Path(id), apiwire.PromoteRequest{Channel: channel}, &rel)
	return rel, err
}

// Yank withdraws a release.
func (c *Client) Yank(ctx context.Context, id, reason string) (Release, error) {
	var rel Release
	err := c.call(ctx, apiwire.YankRelease.Method, apiwire.YankRelease.Path(id), apiwire.ReasonRequest{Reason: reason}, &rel)
	return rel, err
}

// MaxManifest bounds a signed manifest download.
const MaxManifest = 1 << 20

// Manifest downloads a release's signed manifest (COSE_Sign1).
func (c *Client) Manifest(ctx context.Context, id string) ([]byte, error) {
	return c.fetch(ctx, apiwire.DownloadManifest.Path(id), MaxManifest, nil)
}

// Payload downloads a release's age-encrypted payload, at most max bytes.
func (c *Client) Payload(ctx context.Context, id string, max int64, progress func(done, total int64)) ([]byte, error) {
	return c.fetch(ctx, apiwire.DownloadPayload.Path(id), max, progress)
}

// Bundle downloads a release as one .tfb file, at most max bytes.
func (c *Client) Bundle(ctx context.Context, id string, max int64, progress func(done, total int64)) ([]byte, error) {
	return c.fetch(ctx, apiwire.DownloadBundle.Path(id), max, progress)
}
