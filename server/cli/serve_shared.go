package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"trustforge/server/api"
	"trustforge/server/metrics"
)

// openServeBackends opens the shared database and blob store when the
// flags name them, and returns the API configuration that uses them.
func openServeBackends(ctx context.Context, b backendFlags) (api.Config, func(), error) {
	var cfg api.Config
	shared, err := b.shared()
	if err != nil || !shared {
		return cfg, func() {}, err
	}
	key, err := readSecretKey(b.secretKeyFile)
	if err != nil {
		return cfg, func() {}, err
	}
	db, err := openDB(ctx, b.db)
	if err != nil {
		return cfg, func() {}, err
	}
	bs, err := openBlobs(ctx, b.blobs)
	if err != nil {
		db.Close()
		return cfg, func() {}, err
	}
	cfg.Store, cfg.Blobs, cfg.SecretKey = db, bs, key
	// The API server closes the store it was given.
	return cfg, func() {}, nil
}

// serveMetrics serves Prometheus metrics on their own listener until ctx
// is done.
func serveMetrics(ctx context.Context, env Env, addr string, releases *api.Server) (*metrics.Metrics, func(), error) {
	m := metrics.New()
	m.WatchProduction(releases.Store())
	if o, ok := releases.Store().(interface {
		SetObserver(func(string, time.Duration))
	}); ok {
		o.SetObserver(m.ObserveStore)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(env.Stderr, "trustforge: metrics: %v\n", err)
		}
	}()
	fmt.Fprintf(env.Stdout, "trustforge: metrics at http://%s/metrics\n", ln.Addr())
	return m, func() { srv.Close() }, nil
}
