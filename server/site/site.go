// Package site assembles what the trustforge server serves on one origin:
// the console, the release API, the health check and, on demo servers, the
// simulated board; every response carries the console's security headers.
package site

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
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
}

// Site is the server's root handler.
type Site struct {
	cfg      Config
	mux      *http.ServeMux
	draining atomic.Bool
}

// New returns the site for cfg.
func New(cfg Config) *Site {
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

// ServeHTTP serves r with the security headers set.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	SetSecurityHeaders(w.Header())
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
func (s *Site) Serve(ctx context.Context, ln net.Listener) error {
	var h http.Handler = s
	if s.cfg.Wrap != nil {
		h = s.cfg.Wrap(s)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

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
