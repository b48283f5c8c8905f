// Package site assembles what the trustforge server serves on one origin:
// the console, the release API, the health check and, on demo servers, the
// simulated board; every response carries the console's security headers.
package site

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"trustforge/internal/apiwire"
)

// Config says what the site serves. Nil handlers are not mounted.
type Config struct {
	// Console serves the browser console on every path not claimed below.
	Console http.Handler
	// API serves the release API under /api/.
	API http.Handler
	// DemoBoard serves the simulated board's WebSocket under /demo-board/.
	DemoBoard http.Handler
	// Version is reported by /healthz.
	Version string
	// Checks are run by /healthz, by name (such as "database" and
	// "blobs"); any failing makes it answer 503 and name the failure.
	Checks map[string]func(context.Context) error
	// Wrap, when set, wraps the whole site as Serve serves it, such as to
	// count requests for metrics.
	Wrap func(http.Handler) http.Handler
	// ShutdownTimeout bounds how long Serve waits for requests in flight
	// once its context is done. Zero means 10 seconds.
	ShutdownTimeout time.Duration

	// TLS, when set, makes Serve speak HTTPS (HTTP/2 and HTTP/1.1) with
	// it, and every response carry Strict-Transport-Security. Nil means
	// plain HTTP.
	TLS *tls.Config
	// TrustedProxies may report the client's address and scheme in
	// Forwarded or X-Forwarded-For / X-Forwarded-Proto headers; the API's
	// rate limits, audit entries and logs then see the client's address.
	// Empty means no proxy is trusted.
	TrustedProxies Proxies
	// HSTSMaxAge is the max-age of Strict-Transport-Security on HTTPS
	// responses. Zero means two years.
	HSTSMaxAge time.Duration
	// BodyTimeout bounds how long a request body may take to arrive until
	// the handler has authenticated the request. Zero means 30 seconds.
	BodyTimeout time.Duration
	// BodyIdle is how long the body of an authenticated request may pause.
	// Zero means one minute.
	BodyIdle time.Duration
	// MaxConns caps the open connections in all, MaxConnsPerAddr those
	// from one client address. Zero means 1024 and 64.
	MaxConns, MaxConnsPerAddr int
	// ErrorLog receives the HTTP server's errors (TLS handshakes and the
	// like). Nil means the standard logger.
	ErrorLog *log.Logger
}

// Site is the server's root handler.
type Site struct {
	cfg      Config
	mux      *http.ServeMux
	draining atomic.Bool
	conns    atomic.Pointer[connLimit]
}

// New returns the site for cfg.
func New(cfg Config) *Site {
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = 30 * time.Second
	}
	if cfg.BodyIdle <= 0 {
		cfg.BodyIdle = time.Minute
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 1024
	}
	if cfg.MaxConnsPerAddr <= 0 {
		cfg.MaxConnsPerAddr = 64
	}
	if cfg.HSTSMaxAge <= 0 {
		cfg.HSTSMaxAge = 2 * 365 * 24 * time.Hour
	}
	s := &Site{cfg: cfg, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.health)
	if cfg.API != nil {
		s.mux.Handle("/api/", cfg.API)
	}
	if cfg.DemoBoard != nil {
		s.mux.Handle("/demo-board/", cfg.DemoBoard)
	}
	if cfg.Console != nil {
		s.mux.Handle("/", cfg.Console)
	}
	return s
}

// ServeHTTP serves r with the security headers set, after putting the
// client's address in r.RemoteAddr (behind a trusted proxy) and bounding
// how long its body may take.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	SetSecurityHeaders(h)
	r, https := s.cfg.TrustedProxies.withClient(r)
	if https {
		h.Set("Strict-Transport-Security", "max-age="+strconv.Itoa(int(s.cfg.HSTSMaxAge/time.Second)))
	}
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		// net/http drops a Content-Length sent along with
		// Transfer-Encoding before a handler sees it; the pair is how
		// requests are smuggled past proxies (RFC 9112 section 6.3). No
		// trustforge client sends a chunked body, so refuse every one
		// and close the connection.
		h.Set("Connection", "close")
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"code":"`+string(apiwire.CodeChunkedBody)+`","message":"request bodies must be sent with a Content-Length, not Transfer-Encoding"}}`+"\n")
		return
	}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)) == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, idle: s.cfg.BodyIdle}
		}
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Site) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	status, code := "ok", http.StatusOK
	if s.draining.Load() {
		status, code = "shutting down", http.StatusServiceUnavailable
	}
	out := map[string]any{"status": status, "version": s.cfg.Version}
	if len(s.cfg.Checks) > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		checks := map[string]string{}
		for name, check := range s.cfg.Checks {
			if err := check(ctx); err != nil {
				checks[name] = err.Error()
				if code == http.StatusOK {
					out["status"], code = "unavailable: "+name, http.StatusServiceUnavailable
				}
			} else {
				checks[name] = "ok"
			}
		}
		out["checks"] = checks
	}
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(out)
}

// Serve serves the site on ln until ctx is done, then stops accepting
// connections, answers /healthz with 503 and waits for requests in flight
// (at most ShutdownTimeout) before returning.
//
// Connections are capped (Config.MaxConns, MaxConnsPerAddr); with
// Config.TLS the site speaks HTTPS, HTTP/2 included.
func (s *Site) Serve(ctx context.Context, ln net.Listener) error {
	var h http.Handler = s
	if s.cfg.Wrap != nil {
		h = s.cfg.Wrap(s)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		TLSConfig:         s.cfg.TLS,
		ErrorLog:          s.cfg.ErrorLog,
	}
	limited := newConnLimit(ln, s.cfg.MaxConns, s.cfg.MaxConnsPerAddr, s.cfg.TrustedProxies)
	s.conns.Store(limited)
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLS != nil {
			errc <- srv.ServeTLS(limited, "", "")
			return
		}
		errc <- srv.Serve(limited)
	}()

	select {
	case err := <-errc:
		return fmt.Errorf("site: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	timeout := s.cfg.ShutdownTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("site: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("site: shutting down: %w", err)
	}
	return nil
}

// RedirectHTTPS answers every request with a permanent redirect to the
// same host and path over HTTPS on port (omitted when 443), as the plain
// HTTP listener beside an HTTPS site does.
func RedirectHTTPS(port string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "no Host", http.StatusBadRequest)
			return
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if port != "" && port != "443" {
			host += ":" + port
		}
		SetSecurityHeaders(w.Header())
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}
