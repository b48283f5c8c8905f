package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"trustforge/server/certs"
	"trustforge/server/site"
)

// tlsFlags are serve's HTTPS and proxy flags.
type tlsFlags struct {
	certFile, keyFile  string
	acmeDomains        stringList
	acmeDirectory      string
	acmeEmail          string
	redirectHTTP       string
	trustedProxies     stringList
	noTLS              bool
	certCheckInterval  time.Duration
	acmeDirectoryRoots string
}

func (f *tlsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.certFile, "tls-cert", "", "serve HTTPS with the certificate chain in `FILE` (PEM), reloaded when it changes or on SIGHUP")
	fs.StringVar(&f.keyFile, "tls-key", "", "the private key of --tls-cert, `FILE` (PEM)")
	fs.Var(&f.acmeDomains, "acme-domain", "get certificates for `NAME` from an ACME CA (repeat or comma-separate for more names)")
	fs.StringVar(&f.acmeDirectory, "acme-directory", "", "the ACME CA's directory `URL` (default Let's Encrypt)")
	fs.StringVar(&f.acmeEmail, "acme-email", "", "contact `address` given to the ACME CA")
	fs.StringVar(&f.acmeDirectoryRoots, "acme-ca-roots", "", "trust the roots in `FILE` (PEM) to reach a private ACME CA, besides the system's")
	fs.StringVar(&f.redirectHTTP, "redirect-http", "", "also listen on `ADDR` for plain HTTP and redirect it to HTTPS (and answer ACME HTTP-01 challenges)")
	fs.Var(&f.trustedProxies, "trusted-proxy", "trust Forwarded / X-Forwarded-For / X-Forwarded-Proto from reverse proxies in `CIDR` (repeatable)")
	fs.BoolVar(&f.noTLS, "no-tls", false, "serve plain HTTP even if the data directory holds a local CA (trustforge tls init)")
	fs.DurationVar(&f.certCheckInterval, "tls-check", 10*time.Second, "how often to look for changed --tls-cert/--tls-key files")
}

// httpsSetup is what serve needs to speak HTTPS.
type httpsSetup struct {
	config   *tls.Config
	base     string       // the console's https:// base URL
	redirect http.Handler // for --redirect-http; nil when not asked
	// reload re-reads certificate files (SIGHUP); nil for ACME.
	reload func() error
	// watch runs until ctx is done, reloading changed files.
	watch func(ctx context.Context)
	what  string
}

// setupTLS reads serve's TLS flags. It returns nil when serve speaks
// plain HTTP.
func (f *tlsFlags) setup(env Env, dataDir string, ln net.Listener) (*httpsSetup, error) {
	var domains []string
	for _, d := range f.acmeDomains {
		for _, s := range strings.Split(d, ",") {
			if s = strings.TrimSpace(s); s != "" {
				domains = append(domains, s)
			}
		}
	}
	files := f.certFile != "" || f.keyFile != ""
	switch {
	case files && (f.certFile == "" || f.keyFile == ""):
		return nil, usageErrorf("--tls-cert and --tls-key go together")
	case files && len(domains) > 0:
		return nil, usageErrorf("choose --tls-cert/--tls-key or --acme-domain, not both")
	case f.noTLS && (files || len(domains) > 0):
		return nil, usageErrorf("--no-tls contradicts the TLS flags")
	case len(domains) == 0 && (f.acmeDirectory != "" || f.acmeEmail != "" || f.acmeDirectoryRoots != ""):
		return nil, usageErrorf("--acme-directory, --acme-email and --acme-ca-roots need --acme-domain")
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	hostPort := func(host string) string {
		if port == "443" {
			return host
		}
		return net.JoinHostPort(host, port)
	}
	logf := func(format string, args ...any) { fmt.Fprintf(env.Stderr, "trustforge: "+format+"\n", args...) }
	var s *httpsSetup
	switch {
	case len(domains) > 0:
		client := http.DefaultClient
		if f.acmeDirectoryRoots != "" {
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			b, err := os.ReadFile(f.acmeDirectoryRoots)
			if err != nil {
				return nil, err
			}
			if !pool.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("--acme-ca-roots %s: no PEM certificate", f.acmeDirectoryRoots)
			}
			client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, Proxy: http.ProxyFromEnvironment}}
		}
		m, err := certs.NewACME(certs.ACMEConfig{Domains: domains, Directory: f.acmeDirectory, Email: f.acmeEmail, DataDir: dataDir, HTTPClient: client})
		if err != nil {
			return nil, err
		}
		s = &httpsSetup{config: m.TLSConfig(), base: "https://" + hostPort(domains[0]),
			what: "certificates from " + m.Client.DirectoryURL + " for " + strings.Join(domains, ", ")}
		if f.redirectHTTP != "" {
			s.redirect = m.HTTPHandler(site.RedirectHTTPS(port))
		}
	case files:
		fp, err := certs.LoadFiles(f.certFile, f.keyFile)
		if err != nil {
			return nil, err
		}
		s = filesSetup(fp, hostPort, logf, f.certCheckInterval)
		s.what = "the certificate in " + f.certFile
	case !f.noTLS:
		fp, l, err := certs.LoadLocal(certs.LocalDir(dataDir), time.Now())
		if errors.Is(err, certs.ErrNoLocalCA) {
			if f.redirectHTTP != "" {
				return nil, usageErrorf("--redirect-http needs HTTPS: --tls-cert/--tls-key, --acme-domain, or a local CA (trustforge tls init)")
			}
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		s = filesSetup(fp, hostPort, logf, f.certCheckInterval)
		s.what = "the local CA's certificate (" + certs.LocalDir(dataDir) + "); trust " + l.CA.Subject.CommonName + " in the browsers"
	default:
		if f.redirectHTTP != "" {
			return nil, usageErrorf("--redirect-http needs HTTPS")
		}
		return nil, nil
	}
	if s.redirect == nil && f.redirectHTTP != "" {
		s.redirect = site.RedirectHTTPS(port)
	}
	return s, nil
}

func filesSetup(fp *certs.Files, hostPort func(string) string, logf func(string, ...any), every time.Duration) *httpsSetup {
	leaf := fp.Leaf()
	host := leaf.Subject.CommonName
	if len(leaf.DNSNames) > 0 {
		host = leaf.DNSNames[0]
	} else if len(leaf.IPAddresses) > 0 {
		host = leaf.IPAddresses[0].String()
	}
	return &httpsSetup{
		config: &tls.Config{GetCertificate: fp.GetCertificate, MinVersion: tls.VersionTLS12},
		base:   "https://" + hostPort(host),
		reload: func() error {
			changed, err := fp.Reload()
			if err == nil && changed {
				logf("TLS certificate reloaded: %s, until %s", fp.Leaf().Subject, fp.Leaf().NotAfter.Format(time.RFC3339))
			}
			return err
		},
		watch: func(ctx context.Context) {
			fp.Watch(ctx, every, func(c *x509.Certificate) {
				logf("TLS certificate reloaded: %s, until %s", c.Subject, c.NotAfter.Format(time.RFC3339))
			}, func(err error) { logf("TLS certificate not reloaded: %v", err) })
		},
	}
}

// run starts what the setup needs beside the HTTPS listener: the file
// watcher, SIGHUP reloads and the redirect listener. It returns when ctx
// is done.
func (s *httpsSetup) run(ctx context.Context, env Env, redirectAddr string, errs chan<- error) {
	if s.watch != nil {
		go s.watch(ctx)
	}
	{
		// SIGHUP reloads certificate files; with nothing to reload it
		// must still not end the server (systemctl reload).
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		go func() {
			defer signal.Stop(hup)
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					if s.reload == nil {
						fmt.Fprintln(env.Stderr, "trustforge: SIGHUP: no certificate files to reload")
					} else if err := s.reload(); err != nil {
						fmt.Fprintf(env.Stderr, "trustforge: SIGHUP: TLS certificate not reloaded: %v\n", err)
					}
				}
			}
		}()
	}
	if s.redirect != nil {
		ln, err := net.Listen("tcp", redirectAddr)
		if err != nil {
			errs <- fmt.Errorf("--redirect-http: %w", err)
			return
		}
		fmt.Fprintf(env.Stdout, "trustforge: redirecting http://%s to HTTPS\n", ln.Addr())
		srv := &http.Server{Handler: s.redirect, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
			ErrorLog: newDiscardLogger()}
		go func() { <-ctx.Done(); srv.Close() }()
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}()
	}
}

func newDiscardLogger() *log.Logger { return log.New(io.Discard, "", 0) }
