package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"trustforge/e2e/driver"
	"trustforge/wasm/client"
)

// accounts are the server's accounts the tests sign in with, and an
// administrator's API client that sets up products.
type accounts struct {
	base  string
	admin *client.Client
	next  atomic.Int64 // numbers products made by newProduct
}

// The accounts every test can sign in with. Passwords are those of test
// accounts on a throw-away server.
const (
	engineerName   = "erin"
	engineerPass   = "erin's password 1"
	technicianName = "tess"
	technicianPass = "tess's password 1"
)

var enrolLink = regexp.MustCompile(`/enrol#token=(tfe_[A-Za-z0-9_-]+)`)

// setUpAccounts enrols the first administrator with the link the server
// printed, gives it an API token, and creates an engineer and a
// technician.
func setUpAccounts(ctx context.Context, srv *driver.Server) (*accounts, error) {
	m := enrolLink.FindStringSubmatch(srv.Output())
	if m == nil {
		return nil, fmt.Errorf("e2e: no enrolment link in the server's output:\n%s", srv.Output())
	}
	base := srv.URL
	if _, _, err := rawJSON(ctx, base, "POST", "/api/enrol", nil, map[string]string{
		"token": m[1], "name": "root", "password": "root's password 1"}); err != nil {
		return nil, fmt.Errorf("e2e: enrolling: %w", err)
	}
	// Sign in with the cookie by hand: the cookie is Secure, so Go's jar
	// would not send it over http.
	hdr, body, err := rawJSON(ctx, base, "POST", "/api/session", nil, map[string]string{"name": "root", "password": "root's password 1"})
	if err != nil {
		return nil, fmt.Errorf("e2e: signing in: %w", err)
	}
	var sess client.Session
	json.Unmarshal(body, &sess)
	cookie := ""
	for _, c := range hdr.Values("Set-Cookie") {
		if strings.HasPrefix(c, "tf_session=") {
			cookie, _, _ = strings.Cut(c, ";")
		}
	}
	_, body, err = rawJSON(ctx, base, "POST", "/api/tokens", map[string]string{"Cookie": cookie, client.CSRFHeader: sess.CSRFToken},
		map[string]string{"name": "e2e"})
	if err != nil {
		return nil, fmt.Errorf("e2e: making a token: %w", err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	json.Unmarshal(body, &tok)
	a := &accounts{base: base, admin: &client.Client{BaseURL: base, Token: tok.Token}}
	for _, u := range []struct{ name, role, pass string }{
		{engineerName, "engineer", engineerPass},
		{technicianName, "technician", technicianPass},
	} {
		if err := a.createUser(ctx, u.name, u.role, u.pass); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a *accounts) createUser(ctx context.Context, name, role, pass string) error {
	_, _, err := rawJSON(ctx, a.base, "POST", "/api/users", map[string]string{"Authorization": "Bearer " + a.admin.Token},
		map[string]string{"name": name, "role": role, "password": pass})
	if err != nil {
		return fmt.Errorf("e2e: creating %s: %w", name, err)
	}
	return nil
}

// newProduct registers a product of its own for a test, with channels
// beta and stable, so tests do not see each other's releases.
func (a *accounts) newProduct(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("thermo%d", a.next.Add(1))
	_, _, err := rawJSON(context.Background(), a.base, "POST", "/api/products", map[string]string{"Authorization": "Bearer " + a.admin.Token},
		map[string]any{"name": name, "channels": []string{"beta", "stable"}})
	if err != nil {
		tb.Fatal(err)
	}
	return name
}

// rawJSON sends a JSON request and returns the answer's headers and body;
// a status of 400 or more is an error.
func rawJSON(ctx context.Context, base, method, path string, hdr map[string]string, in any) (http.Header, []byte, error) {
	b, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		return resp.Header, body, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, body)
	}
	return resp.Header, body, nil
}
