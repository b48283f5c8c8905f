package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"trustforge/internal/apiwire"
	"trustforge/server/auth"
	"trustforge/server/internal/testbundle"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a running server with one account (and API token) per role, a
// product "sensor" with channels beta and stable, and a registered signer.
type env struct {
	t      testing.TB
	dir    string
	srv    *Server
	hs     *httptest.Server
	clock  *clock
	log    *bytes.Buffer
	tokens map[string]string // role → API token
	signer testbundle.Signer
}

var cheapArgon = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}

func openEnv(t testing.TB, dir string) *env {
	t.Helper()
	return openEnvAt(t, dir, time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC))
}

// openEnvAt opens a server whose clock starts at now.
func openEnvAt(t testing.TB, dir string, now time.Time) *env {
	t.Helper()
	e := &env{t: t, dir: dir, clock: &clock{t: now}, log: new(bytes.Buffer),
		tokens: map[string]string{}, signer: testbundle.NewSigner(1)}
	cfg := Config{DataDir: dir, BaseURL: "http://console.test", Now: e.clock.now,
		Log: e.log, MaxUpload: 64 << 20, argon2: &cheapArgon}
	if scaled {
		useScaled(t, dir, &cfg)
	}
	srv, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.hs = httptest.NewServer(srv)
	t.Cleanup(func() { e.hs.Close(); srv.Close() })
	return e
}

var enrolLink = regexp.MustCompile(`/enrol#token=(tfe_[A-Za-z0-9_-]+)`)

// newEnv opens a server in a fresh directory and sets up every role.
func newEnv(t testing.TB) *env {
	t.Helper()
	return openEnv(t, t.TempDir()).setup()
}

// setup enrols the administrator and sets up every role.
func (e *env) setup() *env {
	t := e.t
	t.Helper()
	m := enrolLink.FindStringSubmatch(e.log.String())
	if m == nil {
		t.Fatalf("no enrolment link in the log:\n%s", e.log)
	}
	e.mustJSON("POST", "/api/enrol", "", map[string]any{"token": m[1], "name": "root", "password": "root password 1", "roles": []string{"admin"}}, 201)
	cookie, csrf := e.signIn("root", "root password 1")
	resp := e.doCookie("POST", "/api/tokens", cookie, csrf, map[string]string{"name": "setup"})
	var tk struct{ Token string }
	decode(t, resp, 201, &tk)
	e.tokens["admin"] = tk.Token
	for _, role := range []string{"engineer", "technician", "station"} {
		e.mustJSON("POST", "/api/users", e.tokens["admin"], map[string]string{"name": role + "1", "role": role}, 201)
		var out struct{ Token string }
		e.mustJSONOut("POST", "/api/users/"+role+"1/tokens", e.tokens["admin"], map[string]string{"name": "ci"}, 201, &out)
		e.tokens[role] = out.Token
	}
	e.mustJSON("POST", "/api/products", e.tokens["admin"], map[string]any{"name": "sensor", "channels": []string{"beta", "stable"}}, 201)
	e.mustJSON("POST", "/api/products/sensor/keys", e.tokens["admin"], map[string]string{"public_key": e.signer.PublicPEM()}, 201)
	return e
}

func (e *env) request(method, path, token string, body io.Reader, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.hs.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func jsonBody(t testing.TB, v any) io.Reader {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func (e *env) doJSON(method, path, token string, v any) *http.Response {
	e.t.Helper()
	return e.request(method, path, token, jsonBody(e.t, v), map[string]string{"Content-Type": "application/json"})
}

func (e *env) mustJSON(method, path, token string, v any, want int) {
	e.t.Helper()
	e.mustJSONOut(method, path, token, v, want, nil)
}

func (e *env) mustJSONOut(method, path, token string, v any, want int, out any) {
	e.t.Helper()
	decode(e.t, e.doJSON(method, path, token, v), want, out)
}

// decode checks resp's status and decodes its JSON body into out (if not nil).
func decode(t testing.TB, resp *http.Response, want int, out any) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", resp.Request.Method, resp.Request.URL.Path, err, b)
		}
	}
}

// errorCode returns an error response's code.
func errorCode(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var body struct{ Error Error }
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	return string(body.Error.Code)
}

func (e *env) signIn(name, pw string) (cookie *http.Cookie, csrf string) {
	e.t.Helper()
	resp := e.doJSON("POST", "/api/session", "", map[string]string{"name": name, "password": pw})
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			cookie = c
		}
	}
	decode(e.t, resp, 200, &out)
	if cookie == nil {
		e.t.Fatal("sign-in set no session cookie")
	}
	return cookie, out.CSRFToken
}

func (e *env) doCookie(method, path string, c *http.Cookie, csrf string, v any) *http.Response {
	e.t.Helper()
	hdr := map[string]string{"Content-Type": "application/json", "Cookie": c.Name + "=" + c.Value}
	if csrf != "" {
		hdr[CSRFHeader] = csrf
	}
	return e.request(method, path, "", jsonBody(e.t, v), hdr)
}

// bundle makes a bundle signed by e.signer unless another signer is given.
func (e *env) bundle(r testbundle.Release, signer ...testbundle.Signer) []byte {
	e.t.Helper()
	s := e.signer
	if len(signer) > 0 {
		s = signer[0]
	}
	if r.Product == "" {
		r.Product = "sensor"
	}
	if r.Channel == "" {
		r.Channel = "beta"
	}
	b, err := s.Make(e.t.TempDir(), r)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) upload(tfb []byte, role string) *http.Response {
	e.t.Helper()
	return e.request("POST", "/api/releases", e.tokens[role], bytes.NewReader(tfb), map[string]string{"Content-Type": "application/octet-stream"})
}

type releaseOutT struct {
	ID            string
	Version       string
	Offers        []apiwire.Offer
	PayloadSHA256 string `json:"payload_sha256"`
	PayloadSize   int64  `json:"payload_size"`
	BundleSize    int64  `json:"bundle_size"`
	Yanked        *apiwire.Yank
	Manifest      map[string]any
}

func (e *env) publish(tfb []byte) releaseOutT {
	e.t.Helper()
	var out releaseOutT
	decode(e.t, e.upload(tfb, "engineer"), 201, &out)
	return out
}

func (e *env) get(path, role string, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	resp := e.request("GET", path, e.tokens[role], nil, hdr)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

func hasCode(body []byte, code string) bool {
	return strings.Contains(string(body), `"code":"`+code+`"`)
}
