package certs

import (
	"errors"
	"net/http"
	"path/filepath"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACMEConfig configures certificates from an ACME CA.
type ACMEConfig struct {
	// Domains are the names to get certificates for; the server answers
	// TLS handshakes for no other name. Required.
	Domains []string
	// Directory is the CA's ACME directory URL. Empty means Let's
	// Encrypt's production directory (acme.LetsEncryptURL).
	Directory string
	// Email is the contact address given to the CA (expiry notices).
	// Empty means none.
	Email string
	// DataDir is the server's data directory: the account key and the
	// certificates are cached under ACMEDir(DataDir). Required.
	DataDir string
	// RenewBefore is how long before expiry certificates are renewed.
	// Zero means 30 days.
	RenewBefore time.Duration
	// HTTPClient talks to the CA; nil means http.DefaultClient (trusting
	// the system's roots; a private CA's root is added there).
	HTTPClient *http.Client
}

// ACMEDir is where a data directory caches ACME account keys and
// certificates (private keys among them: owner-only).
func ACMEDir(dataDir string) string { return filepath.Join(dataDir, "acme") }

// NewACME returns an autocert Manager that obtains and renews
// certificates for the configured domains, accepting the CA's terms of
// service. Its TLSConfig answers TLS-ALPN-01 challenges on the HTTPS port;
// its HTTPHandler answers HTTP-01 challenges on port 80.
func NewACME(c ACMEConfig) (*autocert.Manager, error) {
	if len(c.Domains) == 0 {
		return nil, errors.New("certs: ACME needs at least one domain")
	}
	if c.DataDir == "" {
		return nil, errors.New("certs: ACME needs the data directory for its cache")
	}
	dir := c.Directory
	if dir == "" {
		dir = acme.LetsEncryptURL
	}
	return &autocert.Manager{
		Prompt:      autocert.AcceptTOS,
		Cache:       autocert.DirCache(ACMEDir(c.DataDir)),
		HostPolicy:  autocert.HostWhitelist(c.Domains...),
		Email:       c.Email,
		RenewBefore: c.RenewBefore,
		Client:      &acme.Client{DirectoryURL: dir, HTTPClient: c.HTTPClient},
	}, nil
}
