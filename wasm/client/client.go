// Package client is the console's client of the trustforge release API
// (docs/api.md): sign-in with a cookie session and its CSRF token, products
// and their signing keys, the recipient directory, and releases: publish
// with upload progress, list, promote, yank and download.
//
// It is plain Go over net/http's types, so it runs natively in tests; in
// the browser its requests go through the Fetch API directly (doer_js.go):
// net/http's own client would add megabytes of transport code the browser
// does not need. The session cookie goes with every same-origin request.
// Uploads go through an Uploader, which the console implements with
// XMLHttpRequest for upload progress.
//
// The client moves only what the server may see: signed manifests, age
// ciphertext, public keys and credentials. Release contents are decrypted
// and verified by the caller, never trusted from the server's JSON.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
)

// CSRFHeader carries the session's CSRF token on state-changing requests.
const CSRFHeader = "X-CSRF-Token"

// Error is an error answer of the API: the contract's. Branch on its code
// with errors.Is(err, apiwire.CodeBadCredentials); show its Message.
type Error = apiwire.Error

// Uploader sends a request with a body, given in parts sent one after
// another, and reports upload progress.
type Uploader interface {
	Upload(ctx context.Context, method, url string, header map[string]string, body [][]byte,
		progress func(sent, total int64)) (status int, contentType string, respBody []byte, err error)
}

// Client talks to one release server. Its zero value is not usable: set
// BaseURL.
type Client struct {
	// BaseURL is the server's origin, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// HTTP makes the requests; nil means the platform's: the browser's
	// Fetch API in the console, http.DefaultClient natively.
	HTTP Doer
	// Uploader sends release uploads; nil means HTTP, with progress
	// counted as the body is read.
	Uploader Uploader
	// Token, when set, authenticates with an API token instead of the
	// session cookie.
	Token string

	mu   sync.Mutex
	csrf string
	// expect: a session is believed to exist (a remembered one, not yet
	// asked for), so a change without a CSRF token fetches it first.
	expect bool
}

// Doer sends HTTP requests; *http.Client is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

func (c *Client) http() Doer {
	if c.HTTP == nil {
		return defaultDoer()
	}
	return c.HTTP
}

func (c *Client) setCSRF(t string) {
	c.mu.Lock()
	c.csrf, c.expect = t, false
	c.mu.Unlock()
}

// ExpectSession tells the client that this browser is believed to be
// signed in before anything has asked the server: a page shown with a
// remembered session may offer changes before the tab's session check has
// answered, and the first change then fetches the session's CSRF token
// itself instead of being refused for lacking it.
func (c *Client) ExpectSession() {
	c.mu.Lock()
	c.expect = c.csrf == ""
	c.mu.Unlock()
}

// headers returns h (or a new map) with the request's authentication: the
// API token, or for a change the session's CSRF token, fetched first when
// a session is expected but its token not known yet.
func (c *Client) headers(ctx context.Context, method string, h map[string]string) map[string]string {
	change := method != http.MethodGet && method != http.MethodHead
	if change && c.Token == "" {
		c.mu.Lock()
		fetch := c.expect
		c.mu.Unlock()
		if fetch {
			// A 401 or no network leaves the change to fail as it would.
			c.Session(ctx)
		}
	}
	if h == nil {
		h = map[string]string{}
	}
	if c.Token != "" {
		h["Authorization"] = "Bearer " + c.Token
	}
	if change {
		c.mu.Lock()
		if c.csrf != "" {
			h[CSRFHeader] = c.csrf
		}
		c.mu.Unlock()
	}
	return h
}

// do sends a request and returns the response; an error status is
// returned as *Error.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, ctype string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, usererr.Errorf("client", "%w", err)
	}
	for k, v := range c.headers(ctx, method, nil) {
		req.Header.Set(k, v)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, usererr.Errorf("client", "%s %s: the server cannot be reached: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, decodeError(resp.StatusCode, b)
	}
	return resp, nil
}

func decodeError(status int, body []byte) error {
	var e apiwire.ErrorBody
	if json.Unmarshal(body, &e) == nil && e.Error != nil {
		e.Error.Status = status
		return e.Error
	}
	return &Error{Status: status, Code: apiwire.CodeHTTP, Message: fmt.Sprintf("HTTP %d %s", status, strings.TrimSpace(string(bytes.ToValidUTF8(body[:min(len(body), 200)], nil))))}
}

// call sends in (JSON, when not nil) and decodes the answer into out (when
// not nil).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return usererr.Errorf("client", "%w", err)
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	resp, err := c.do(ctx, method, path, body, ctype)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return usererr.Errorf("client", "%s %s: reading the answer: %w", method, path, err)
	}
	return nil
}

// fetch downloads path whole, calling progress (when not nil) as bytes
// arrive.
func (c *Client) fetch(ctx context.Context, path string, max int64, progress func(done, total int64)) ([]byte, error) {
	resp, err := c.do(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > max {
		return nil, usererr.Errorf("client", "%s is %d bytes, more than %d", path, resp.ContentLength, max)
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength))
	}
	chunk := make([]byte, 256<<10)
	for {
		n, err := resp.Body.Read(chunk)
		buf.Write(chunk[:n])
		if int64(buf.Len()) > max {
			return nil, usererr.Errorf("client", "%s is more than %d bytes", path, max)
		}
		if progress != nil && n > 0 {
			progress(int64(buf.Len()), resp.ContentLength)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, usererr.Errorf("client", "downloading %s: %w", path, err)
		}
	}
	return buf.Bytes(), nil
}

func pathEscape(s string) string { return url.PathEscape(s) }
