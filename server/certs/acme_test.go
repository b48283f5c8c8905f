package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"trustforge/server/certs"
	"trustforge/server/internal/pebbletest"
)

// switchable is a transport that can be cut off, to stop autocert's
// renewals once a test has seen one.
type switchable struct {
	rt  http.RoundTripper
	off atomic.Bool
}

func (s *switchable) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.off.Load() {
		return nil, errors.New("test: the ACME CA is gone")
	}
	return s.rt.RoundTrip(r)
}

// TestACMEIssueAndRenew gets a certificate from a real ACME server
// (Pebble) on the first handshake, checks it against Pebble's root, finds
// it cached in the data directory, and sees it renewed before expiry.
func TestACMEIssueAndRenew(t *testing.T) {
	p := pebbletest.Start(t, time.Hour)
	data := t.TempDir()
	tr := &switchable{rt: p.Client.Transport}
	defer tr.off.Store(true)
	// Renewing 2 hours before an hour-long certificate ends renews at once.
	m, err := certs.NewACME(certs.ACMEConfig{Domains: []string{"tf.test"}, Directory: p.Directory, Email: "ops@tf.test", DataDir: data,
		RenewBefore: 2 * time.Hour, HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", m.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	roots := p.Roots(t)
	handshake := func(name string) (*x509.Certificate, error) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Minute}, "tcp", ln.Addr().String(), &tls.Config{ServerName: name, RootCAs: roots})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0], nil
	}
	first, err := handshake("tf.test")
	if err != nil {
		t.Fatalf("the first handshake (issuance): %v", err)
	}
	if first.Subject.CommonName != "tf.test" && (len(first.DNSNames) != 1 || first.DNSNames[0] != "tf.test") {
		t.Errorf("issued for %v %v", first.Subject, first.DNSNames)
	}
	if _, err := handshake("other.test"); err == nil {
		t.Error("a handshake for a name not configured succeeded")
	}
	// The account key and certificate are cached, owner-only.
	var files int
	filepath.WalkDir(certs.ACMEDir(data), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			// Gone since the directory was read: a file the cache was
			// writing, renamed over its final name meanwhile.
			return nil
		}
		files++
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v", path, fi.Mode().Perm())
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(certs.ACMEDir(data), "tf.test")); err != nil || files < 2 {
		t.Errorf("the ACME cache holds %d files (%v)", files, err)
	}

	// Renewal: a new certificate replaces the first without a restart.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		c, err := handshake("tf.test")
		if err == nil && c.SerialNumber.Cmp(first.SerialNumber) != 0 {
			if !c.NotAfter.After(first.NotAfter) && !c.NotAfter.Equal(first.NotAfter) {
				t.Errorf("the renewed certificate ends %v, before the first's %v", c.NotAfter, first.NotAfter)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no renewal seen (last handshake: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
