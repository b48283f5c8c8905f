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
	"net/url"
	"strconv"
	"strings"
	"time"
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

// Error is an error answer from the server.
type Error struct {
	Status  int
	Code    string // stable, machine-readable: "untrusted_key", "version_not_newer", …
	Message string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("client: server answered %d %s", e.Status, e.Message)
	}
	return fmt.Sprintf("client: %s (%d %s)", e.Message, e.Status, e.Code)
}

// Release is a published release as the API describes it.
type Release struct {
	ID              string          `json:"id"`
	Product         string          `json:"product"`
	Component       int             `json:"component"`
	Version         string          `json:"version"`
	SecurityCounter uint64          `json:"security_counter"`
	Channel         string          `json:"channel"`
	Offers          []Offer         `json:"offers"`
	Signer          string          `json:"signer"`
	PayloadSHA256   string          `json:"payload_sha256"`
	PayloadSize     int64           `json:"payload_size"`
	BundleSize      int64           `json:"bundle_size"`
	Uploaded        time.Time       `json:"uploaded"`
	UploadedBy      string          `json:"uploaded_by"`
	Yanked          *Yank           `json:"yanked,omitempty"`
	Manifest        json.RawMessage `json:"manifest"`
}

// Offer says a release is offered on a channel.
type Offer struct {
	Channel string    `json:"channel"`
	Added   time.Time `json:"added"`
	AddedBy string    `json:"added_by"`
}

// Yank says why and when a release was withdrawn.
type Yank struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

// Token is an API token's record; Secret is set only when it was created.
type Token struct {
	ID      string     `json:"id"`
	User    string     `json:"user"`
	Name    string     `json:"name"`
	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires,omitempty"`
	Secret  string     `json:"token,omitempty"`
}

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
	var body struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(b, &body) == nil && body.Error.Code != "" {
		return &Error{Status: resp.StatusCode, Code: body.Error.Code, Message: body.Error.Message}
	}
	return &Error{Status: resp.StatusCode, Message: strings.TrimSpace(string(b))}
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
	req, err := c.newRequest(ctx, "POST", "/api/releases", tfb)
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
type Filter struct {
	Product, Channel, Version string
	Component                 *int
	Yanked                    bool // include yanked releases
}

// List lists releases, newest upload first.
func (c *Client) List(ctx context.Context, f Filter) ([]Release, error) {
	q := url.Values{}
	for k, v := range map[string]string{"product": f.Product, "channel": f.Channel, "version": f.Version} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Component != nil {
		q.Set("component", strconv.Itoa(*f.Component))
	}
	if f.Yanked {
		q.Set("yanked", "true")
	}
	var out struct{ Releases []Release }
	path := "/api/releases"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return out.Releases, c.jsonCall(ctx, "GET", path, nil, http.StatusOK, &out)
}

// Release returns one release by ID.
func (c *Client) Release(ctx context.Context, id string) (*Release, error) {
	var out Release
	return &out, c.jsonCall(ctx, "GET", "/api/releases/"+url.PathEscape(id), nil, http.StatusOK, &out)
}

// Latest returns the highest release offered on a product's channel.
func (c *Client) Latest(ctx context.Context, product, channel string, component int) (*Release, error) {
	var out Release
	path := fmt.Sprintf("/api/products/%s/channels/%s/latest?component=%d", url.PathEscape(product), url.PathEscape(channel), component)
	return &out, c.jsonCall(ctx, "GET", path, nil, http.StatusOK, &out)
}

// CreateToken issues an API token for the caller, or, for an admin, for
// user (when not empty). expires zero means it never expires.
func (c *Client) CreateToken(ctx context.Context, user, name string, expires time.Time) (*Token, error) {
	in := map[string]any{"name": name}
	if !expires.IsZero() {
		in["expires"] = expires
	}
	path := "/api/tokens"
	if user != "" {
		path = "/api/users/" + url.PathEscape(user) + "/tokens"
	}
	var out Token
	return &out, c.jsonCall(ctx, "POST", path, in, http.StatusCreated, &out)
}

// Tokens lists the caller's API tokens (without their secrets).
func (c *Client) Tokens(ctx context.Context) ([]Token, error) {
	var out struct{ Tokens []Token }
	return out.Tokens, c.jsonCall(ctx, "GET", "/api/tokens", nil, http.StatusOK, &out)
}

// RevokeToken deletes an API token by ID.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.jsonCall(ctx, "DELETE", "/api/tokens/"+url.PathEscape(id), nil, http.StatusNoContent, nil)
}

// ExportAudit writes the audit log (JSON Lines) to w and returns the head
// the server recorded when the export began.
func (c *Client) ExportAudit(ctx context.Context, w io.Writer) (string, error) {
	req, err := c.newRequest(ctx, "GET", "/api/audit", nil)
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
