// Package client is a Go client for the trustforge release API, used by the
// trustforge CLI and by automation. It authenticates with an API token and
// streams uploads and downloads; downloads resume with HTTP Range requests.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"trustforge/internal/apiwire"
)

// Client talks to one trustforge server.
type Client struct {
	// BaseURL is the server's address, such as "https://releases.example.com".
	BaseURL string
	// Token is an API token ("tft_…").
	Token string
	// HTTP is the HTTP client. Nil means http.DefaultClient.
	HTTP *http.Client
}

// Error is an error answer from the server: the contract's. Branch on its
// code with errors.Is(err, apiwire.CodeUntrustedKey).
type Error = apiwire.Error

// The API's bodies, as the contract declares them.
type (
	// Release is a published release as the API describes it.
	Release = apiwire.Release
	// Offer says a release is offered on a channel.
	Offer = apiwire.Offer
	// Yank says why and when a release was withdrawn.
	Yank = apiwire.Yank
	// Token is an API token's record; Secret is set only when it was created.
	Token = apiwire.Token
)

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	u := strings.TrimSuffix(c.BaseURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

// do sends req and decodes a JSON answer into out, or returns an *Error.
// anyOK as the status do wants accepts any 2xx answer.
const anyOK = -1

func (c *Client) do(req *http.Request, want int, out any) error {
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want && !(want == anyOK && resp.StatusCode/100 == 2) {
		return readError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("client: decoding answer to %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body apiwire.ErrorBody
	if json.Unmarshal(b, &body) == nil && body.Error != nil && body.Error.Code != "" {
		body.Error.Status = resp.StatusCode
		return body.Error
	}
	return &Error{Status: resp.StatusCode, Code: apiwire.CodeHTTP, Message: strings.TrimSpace(string(b))}
}

func (c *Client) jsonCall(ctx context.Context, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("client: %w", err)
		}
		body = strings.NewReader(string(b))
	}
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.do(req, want, out)
}

// Push uploads a bundle (.tfb) of size bytes (-1 if unknown) and returns the
// published release.
func (c *Client) Push(ctx context.Context, tfb io.Reader, size int64) (*Release, error) {
	req, err := c.newRequest(ctx, apiwire.PublishRelease.Method, apiwire.PublishRelease.Path(), tfb)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/vnd.trustforge.bundle")
	if size >= 0 {
		req.ContentLength = size
	}
	var out Release
	return &out, c.do(req, http.StatusCreated, &out)
}

// Filter selects releases to list; zero fields match everything.
type Filter = apiwire.ReleaseFilter

// List lists releases, newest upload first.
func (c *Client) List(ctx context.Context, f Filter) ([]Release, error) {
	var out apiwire.ReleaseList
	err := c.jsonCall(ctx, apiwire.ListReleases.Method, apiwire.ListReleases.Path()+"?"+f.Encode(), nil, http.StatusOK, &out)
	return out.Releases, err
}

// Release returns one release by ID.
func (c *Client) Release(ctx context.Context, id string) (*Release, error) {
	var out Release
	return &out, c.jsonCall(ctx, apiwire.GetRelease.Method, apiwire.GetRelease.Path(id), nil, http.StatusOK, &out)
}

// Latest returns the highest release offered on a product's channel.
func (c *Client) Latest(ctx context.Context, product, channel string, component int) (*Release, error) {
	var out Release
	path := apiwire.Latest.Path(product, channel) + "?component=" + strconv.Itoa(component)
	return &out, c.jsonCall(ctx, apiwire.Latest.Method, path, nil, http.StatusOK, &out)
}

// CreateToken issues an API token for the caller, or, for an admin, for
// user (when not empty). expires zero means it never expires.
func (c *Client) CreateToken(ctx context.Context, user, name string, expires time.Time) (*Token, error) {
	in := apiwire.CreateTokenRequest{Name: name}
	if !expires.IsZero() {
		in.Expires = &expires
	}
	rt, path := apiwire.CreateToken, apiwire.CreateToken.Path()
	if user != "" {
		rt, path = apiwire.CreateUserToken, apiwire.CreateUserToken.Path(user)
	}
	var out Token
	return &out, c.jsonCall(ctx, rt.Method, path, in, http.StatusCreated, &out)
}

// Tokens lists the caller's API tokens (without their secrets).
func (c *Client) Tokens(ctx context.Context) ([]Token, error) {
	var out struct{ Tokens []Token }
	return out.Tokens, c.jsonCall(ctx, apiwire.ListTokens.Method, apiwire.ListTokens.Path(), nil, http.StatusOK, &out)
}

// RevokeToken deletes an API token by ID.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.jsonCall(ctx, apiwire.DeleteToken.Method, apiwire.DeleteToken.Path(id), nil, http.StatusNoContent, nil)
}

// ExportAudit writes the audit log (JSON Lines) to w and returns the head
// the server recorded when the export began.
func (c *Client) ExportAudit(ctx context.Context, w io.Writer) (string, error) {
	req, err := c.newRequest(ctx, apiwire.ExportAudit.Method, apiwire.ExportAudit.Path(), nil)
	if err != nil {
		return "", err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return "", fmt.Errorf("client: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", readError(resp)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return "", fmt.Errorf("client: reading audit export: %w", err)
	}
	return resp.Header.Get("Trustforge-Audit-Head"), nil
}

// ErrChanged reports that a download's content changed on the server
// between two attempts, so a partial file cannot be resumed.
var ErrChanged = errors.New("client: download changed on the server; start again")
