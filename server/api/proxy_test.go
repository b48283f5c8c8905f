package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"trustforge/server/auth"
	"trustforge/server/site"
)

// TestBehindReverseProxy puts the API behind a reverse proxy
// (httputil.ReverseProxy, which appends the client's address to
// X-Forwarded-For) that the site trusts: two clients behind it have
// separate sign-in limits, the audit log records their own addresses, and
// an X-Forwarded-For sent straight to the site by an untrusted client is
// ignored.
func TestBehindReverseProxy(t *testing.T) {
	base := newEnv(t) // accounts and a product
	base.mustJSON("PATCH", "/api/users/engineer1", base.tokens["admin"], map[string]string{"password": "the right password"}, 200)
	srv := base.srv
	srv.signIns = &auth.SignInPolicy{PerAddr: auth.Limiter{Burst: 3, Every: time.Hour}}

	proxies, err := site.ParseProxies([]string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	s := site.New(site.Config{API: srv, TrustedProxies: proxies})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	backend := &url.URL{Scheme: "http", Host: ln.Addr().String()}

	// The proxy listens on 127.0.0.1 and reaches the site from 127.0.0.1.
	proxyLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxy := &http.Server{Handler: httputil.NewSingleHostReverseProxy(backend)}
	go proxy.Serve(proxyLn)
	t.Cleanup(func() { proxy.Close() })

	// Clients come from their own loopback addresses.
	client := func(from string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	signIn := func(c *http.Client, to, pw string, hdr map[string]string) int {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"name": "engineer1", "password": pw})
		req, _ := http.NewRequest("POST", "http://"+to+"/api/session", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	a, b := client("127.0.0.2"), client("127.0.0.3")
	via := proxyLn.Addr().String()
	for i := range 3 {
		if code := signIn(a, via, "wrong", nil); code != 401 {
			t.Fatalf("client A's attempt %d: %d, want 401", i+1, code)
		}
	}
	if code := signIn(a, via, "wrong", nil); code != 429 {
		t.Errorf("client A's 4th attempt: %d, want 429", code)
	}
	// A spoofed X-Forwarded-For through the proxy does not give A a fresh
	// address: the proxy appends the address it saw.
	if code := signIn(a, via, "wrong", map[string]string{"X-Forwarded-For": "203.0.113.77"}); code != 429 {
		t.Errorf("client A with a spoofed X-Forwarded-For through the proxy: %d, want 429", code)
	}
	if code := signIn(b, via, "the right password", nil); code != 200 {
		t.Errorf("client B through the same proxy: %d, want 200", code)
	}
	sessions := base.auditEntries(t, "session.create")
	if len(sessions) == 0 || sessions[len(sessions)-1].Detail["addr"] != "127.0.0.3" {
		t.Errorf("the sign-in's audit entry: %+v, want addr 127.0.0.3", sessions)
	}

	// Straight to the site, from an address that is not a trusted proxy,
	// X-Forwarded-For is ignored: the client is limited by its own address.
	c := client("127.0.0.4")
	for i := range 3 {
		signIn(c, ln.Addr().String(), "wrong", map[string]string{"X-Forwarded-For": "198.51.100." + string(rune('1'+i))})
	}
	if code := signIn(c, ln.Addr().String(), "wrong", map[string]string{"X-Forwarded-For": "198.51.100.9"}); code != 429 {
		t.Errorf("an untrusted client rotating X-Forwarded-For: %d, want 429", code)
	}
}
