package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"trustforge/internal/version"
	"trustforge/server/api"
	"trustforge/server/console"
	"trustforge/server/site"
)

// serveConfig holds the flags of trustforge serve.
type serveConfig struct {
	addr    string
	dataDir string
	webDir  string

	maxUpload int64
	demoBoard bool
	tls       tlsFlags

	backends      backendFlags
	blobsRedirect time.Duration
	metricsAddr   string
}

func runServe(ctx context.Context, env Env, args []string) error {
	var cfg serveConfig
	fs := newFlagSet(env, "serve", "serve [--addr HOST:PORT] [--data DIR] [--web DIR] [--demo-board] [--tls-cert FILE --tls-key FILE | --acme-domain NAME] [--redirect-http ADDR] [--trusted-proxy CIDR] [--db postgres://… --blobs s3://… --secret-key-file F [--blobs-redirect TTL]] [--metrics-addr HOST:PORT]")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "listen `address`; port 0 picks a free port")
	fs.StringVar(&cfg.dataDir, "data", "data", "data `directory`: release metadata and encrypted blobs")
	fs.StringVar(&cfg.webDir, "web", "web", "`directory` of the console's app.wasm and static assets")
	fs.Int64Var(&cfg.maxUpload, "max-upload", 2<<30, "largest release bundle upload, in `bytes`")
	fs.BoolVar(&cfg.demoBoard, "demo-board", false, "offer a simulated board at /demo-board/ (its flash is kept in the data directory)")
	cfg.tls.register(fs)
	cfg.backends.register(fs)
	fs.DurationVar(&cfg.blobsRedirect, "blobs-redirect", 0,
		"answer payload downloads made with an API token by a redirect to a presigned URL of the --blobs bucket, valid this `long` (such as 15m); 0 streams them through the server")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://`ADDRESS`/metrics (a separate listener, for operators only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}

	switch {
	case cfg.blobsRedirect < 0 || cfg.blobsRedirect > 7*24*time.Hour || cfg.blobsRedirect > 0 && cfg.blobsRedirect < time.Second:
		return usageErrorf("--blobs-redirect %s: a presigned URL lives from 1s to 7 days (168h)", cfg.blobsRedirect)
	case cfg.blobsRedirect > 0 && cfg.backends.blobs == "":
		return usageErrorf("--blobs-redirect needs --blobs: only an S3 bucket hands out presigned URLs")
	}
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	apiCfg, closeBackends, err := openServeBackends(ctx, cfg.backends)
	if err != nil {
		return err
	}
	defer closeBackends()
	con, err := console.New(console.Config{WebDir: cfg.webDir, BuildVersion: version.Version, Log: env.Stderr})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	https, err := cfg.tls.setup(env, cfg.dataDir, ln)
	if err != nil {
		ln.Close()
		return err
	}
	proxies, err := site.ParseProxies(cfg.tls.trustedProxies)
	if err != nil {
		ln.Close()
		return usageErrorf("--trusted-proxy: %v", err)
	}

	siteCfg := site.Config{Console: con, Version: con.Version(), TrustedProxies: proxies}
	if https != nil {
		base, siteCfg.TLS = https.base, https.config
	}
	// API: the release API is mounted here.
	apiCfg.DataDir, apiCfg.BaseURL, apiCfg.MaxUpload, apiCfg.Log = cfg.dataDir, base, cfg.maxUpload, env.Stderr
	apiCfg.BlobsRedirect = cfg.blobsRedirect
	releases, err := api.Open(ctx, apiCfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer releases.Close()
	siteCfg.API = releases
	siteCfg.Checks = releases.HealthChecks()

	if cfg.demoBoard {
		board, h, err := openDemoBoard(cfg.dataDir, env.Stderr)
		if err != nil {
			ln.Close()
			return err
		}
		defer board.Close()
		siteCfg.DemoBoard = h
	}

	if cfg.metricsAddr != "" {
		m, stopMetrics, err := serveMetrics(ctx, env, cfg.metricsAddr, releases)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopMetrics()
		siteCfg.Wrap = m.Wrap
	}
	s := site.New(siteCfg)
	where := "data in " + cfg.dataDir
	if apiCfg.Store != nil {
		where = "shared database and blob store"
	}
	// A SIGHUP sent as soon as the address shows (a supervisor's reload)
	// must not end the server before run below takes over SIGHUP.
	early := make(chan os.Signal, 1)
	signal.Notify(early, syscall.SIGHUP)
	fmt.Fprintf(env.Stdout, "trustforge %s: console at %s/ (%s)\n", con.Version(), base, where)
	errs := make(chan error, 1)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if https != nil {
		fmt.Fprintf(env.Stdout, "trustforge: HTTPS on %s with %s\n", ln.Addr(), https.what)
	} else {
		https = &httpsSetup{} // plain HTTP: SIGHUP only, which must not end the server
	}
	https.run(sctx, env, cfg.tls.redirectHTTP, errs)
	signal.Stop(early)
	select {
	case <-early: // arrived before run took SIGHUP over: hand it on
		syscall.Kill(os.Getpid(), syscall.SIGHUP)
	default:
	}
	go func() {
		select {
		case err := <-errs:
			fmt.Fprintf(env.Stderr, "trustforge: %v\n", err)
			cancel()
		case <-sctx.Done():
		}
	}()
	if cfg.demoBoard {
		fmt.Fprintf(env.Stdout, "trustforge: simulated board at %s%s\n", base, "/demo-board/")
	}
	err = s.Serve(sctx, ln)
	fmt.Fprintln(env.Stdout, "trustforge: stopped")
	return err
}
