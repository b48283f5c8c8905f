package site

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	})
	console := http.NotFoundHandler()
	s := New(Config{Console: console, API: api, Version: "v9"})
	for _, path := range []string{"/", "/healthz", "/api/releases", "/nope"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		h := rec.Header()
		want := map[string]string{
			"Content-Security-Policy":    ContentSecurityPolicy,
			"X-Content-Type-Options":     "nosniff",
			"Referrer-Policy":            "no-referrer",
			"Cross-Origin-Opener-Policy": "same-origin",
		}
		for k, v := range want {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), v)
			}
		}
	}
	for _, directive := range []string{"default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "frame-ancestors 'none'", "connect-src 'self'"} {
		if !strings.Contains(ContentSecurityPolicy, directive) {
			t.Errorf("CSP lacks %q", directive)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe-inline") {
		t.Error("CSP allows inline script or style")
	}
}

func TestHealthAndGracefulShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	s := New(Config{Console: slow, Version: "v9", ShutdownTimeout: 5 * time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	res, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]string
	json.NewDecoder(res.Body).Decode(&health)
	res.Body.Close()
	if res.StatusCode != 200 || health["status"] != "ok" || health["version"] != "v9" {
		t.Fatalf("healthz: %d %v", res.StatusCode, health)
	}

	// A request in flight when the signal comes still completes.
	var wg sync.WaitGroup
	var body string
	wg.Add(1)
	go func() {
		defer wg.Done()
		res, err := http.Get(base + "/slow")
		if err != nil {
			body = err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body = string(b)
	}()
	<-started
	stop()
	time.AfterFunc(100*time.Millisecond, func() { close(release) })
	wg.Wait()
	if body != "done" {
		t.Errorf("request in flight got %q, want done", body)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}
