// Package pebbletest starts Pebble, Let's Encrypt's ACME test server, for
// tests: built from the module go.mod pins as a tool
// (github.com/letsencrypt/pebble/v2/cmd/pebble), with an HTTPS certificate
// made by the test and every challenge treated as valid
// (PEBBLE_VA_ALWAYS_VALID), so no DNS or challenge server is needed.
package pebbletest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"trustforge/server/certs"
)

// Server is a running Pebble.
type Server struct {
	Directory string       // the ACME directory URL
	Client    *http.Client // trusts Pebble's own HTTPS certificate
	// CAFile is the PEM root of Pebble's own HTTPS certificate, for
	// clients given a file (trustforge serve --acme-ca-roots).
	CAFile string
	mgmt   string // the management interface's base URL
}

// Start builds and starts Pebble, issuing certificates valid for
// validity, and stops it when the test ends. It skips the test in -short
// mode.
func Start(t testing.TB, validity time.Duration) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs Pebble")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pebble")
	build := exec.Command("go", "build", "-o", bin, "github.com/letsencrypt/pebble/v2/cmd/pebble")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building pebble: %v\n%s", err, out)
	}
	// Pebble's HTTPS certificate, from a local CA made for 127.0.0.1.
	l, err := certs.InitLocal(filepath.Join(dir, "tls"), certs.LocalOptions{Hostnames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 4)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  "127.0.0.1:" + ports[0],
		"managementListenAddress":        "127.0.0.1:" + ports[1],
		"certificate":                    filepath.Join(l.Dir, certs.LocalServerCert),
		"privateKey":                     filepath.Join(l.Dir, certs.LocalServerKey),
		"httpPort":                       atoi(ports[2]),
		"tlsPort":                        atoi(ports[3]),
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"keyAlgorithm":                   "ecdsa",
		"profiles":                       map[string]any{"default": map[string]any{"description": "test", "validityPeriod": int(validity / time.Second)}},
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	os.WriteFile(cfgFile, b, 0o600)
	cmd := exec.Command(bin, "-config", cfgFile)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		closed := false
		for sc.Scan() {
			if !closed && strings.Contains(sc.Text(), "Listening on: 127.0.0.1:"+ports[0]) {
				close(ready)
				closed = true
			}
			if testing.Verbose() {
				t.Log("pebble:", sc.Text())
			}
		}
	}()
	select {
	case <-ready:
	case <-exited:
		t.Fatal("pebble exited (go test -v shows its output)")
	case <-time.After(2 * time.Minute):
		t.Fatal("pebble did not start")
	}
	// Pebble prints its addresses just before it listens on them.
	for _, port := range ports[:2] {
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
			c, err := net.Dial("tcp", "127.0.0.1:"+port)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pebble does not listen on %s: %v", port, err)
			}
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(l.CA)
	return &Server{
		CAFile:    filepath.Join(l.Dir, certs.LocalCACert),
		Directory: "https://127.0.0.1:" + ports[0] + "/dir",
		Client:    &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
		mgmt:      "https://127.0.0.1:" + ports[1],
	}
}

// Roots returns the roots Pebble's issued certificates chain to.
func (p *Server) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	resp, err := p.Client.Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for blk, rest := pem.Decode(b); blk != nil; blk, rest = pem.Decode(rest) {
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		pool.AddCert(c)
	}
	return pool
}

func freePorts(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		_, p, _ := net.SplitHostPort(ln.Addr().String())
		out = append(out, p)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
