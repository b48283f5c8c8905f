package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 named cn and
// its key to certFile and keyFile, and returns it.
func selfSigned(t *testing.T, cn, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestReloadKeepsConnections replaces the certificate files under a
// running HTTPS server: a connection opened before keeps working, new
// connections get the new certificate; a broken pair never replaces the
// good one.
func TestReloadKeepsConnections(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := selfSigned(t, "first", certFile, keyFile)
	f, err := LoadFiles(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: f.GetCertificate, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "https://" + ln.Addr().String() + "/"

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(c *http.Client) (*x509.Certificate, bool) {
		t.Helper()
		var reused bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0], reused
	}
	if c, _ := get(client); !c.Equal(first) {
		t.Fatalf("served %s, want the first certificate", c.Subject)
	}

	// A half-written pair (a key that does not match) is refused.
	other := filepath.Join(dir, "other-key.pem")
	selfSigned(t, "other", filepath.Join(dir, "other.pem"), other)
	os.Rename(other, keyFile)
	if _, err := f.Reload(); err == nil {
		t.Error("a mismatched key was accepted")
	}

	second := selfSigned(t, "second", certFile, keyFile)
	reloaded := make(chan *x509.Certificate, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.Watch(ctx, 10*time.Millisecond, func(c *x509.Certificate) { reloaded <- c }, nil)
	select {
	case c := <-reloaded:
		if !c.Equal(second) {
			t.Fatalf("reloaded %s, want the second certificate", c.Subject)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the change of files was not noticed")
	}
	c, reused := get(client)
	if !reused || !c.Equal(first) {
		t.Errorf("the open connection: reused %v, certificate %s; want it kept, with the first certificate", reused, c.Subject)
	}
	fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if c, _ := get(fresh); !c.Equal(second) {
		t.Errorf("a new connection got %s, want the second certificate", c.Subject)
	}
}
