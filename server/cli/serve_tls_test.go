package cli

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"trustforge/server/internal/pebbletest"
)

// startServe runs `trustforge serve` with args and returns the lines it
// prints as they come.
func startServe(t *testing.T, bin string, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	return cmd, lines
}

// waitLine returns the first submatch of re in the server's output.
func waitLine(t *testing.T, lines <-chan string, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the server exited before printing %v", re)
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		case <-deadline:
			t.Fatalf("the server did not print %v", re)
		}
	}
}

var (
	httpsAt    = regexp.MustCompile(`HTTPS on ([0-9.:]+) with`)
	redirectAt = regexp.MustCompile(`redirecting http://([0-9.:]+) to HTTPS`)
	reloadedTo = regexp.MustCompile(`TLS certificate reloaded: CN=(\S+),`)
)

// TestServeHTTPS runs serve with a local CA (tls init): HTTPS over HTTP/2
// with HSTS, the certificate verifying against the CA for the names it
// was made for, and a plain HTTP listener that redirects; then with a
// certificate file that SIGHUP reloads.
func TestServeHTTPS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs servers")
	}
	dir := t.TempDir()
	bin := buildTrustforge(t, dir)
	data, web := filepath.Join(dir, "data"), filepath.Join(dir, "web")
	os.MkdirAll(web, 0o755)
	os.WriteFile(filepath.Join(web, "app.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	out := runCLIOut(t, bin, "tls", "init", "--data", data, "--hostname", "tf.lab", "--ip", "127.0.0.1")
	if !strings.Contains(out, "certutil") || !strings.Contains(out, "ca.pem") {
		t.Errorf("tls init does not say how to trust the CA:\n%s", out)
	}
	caPEM, err := os.ReadFile(filepath.Join(data, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)

	_, lines := startServe(t, bin, "--addr", "127.0.0.1:0", "--data", data, "--web", web, "--redirect-http", "127.0.0.1:0")
	addr := waitLine(t, lines, httpsAt)
	redirect := waitLine(t, lines, redirectAt)
	go func() {
		for range lines {
		}
	}()
	client := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "tf.lab"}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("HTTPS health check: %d over HTTP/%d, HSTS %q", resp.StatusCode, resp.ProtoMajor, resp.Header.Get("Strict-Transport-Security"))
	}
	// The CA vouches for no other name.
	other := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "bank.example"}}}
	if _, err := other.Get("https://" + addr + "/healthz"); err == nil {
		t.Error("the server's certificate verified for bank.example")
	}
	resp, err = client.Get("http://" + redirect + "/releases?product=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := net.SplitHostPort(addr)
	if want := "https://127.0.0.1:" + port + "/releases?product=x"; resp.StatusCode != 308 || resp.Header.Get("Location") != want {
		t.Errorf("redirect: %d to %q, want 308 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	// --tls-cert/--tls-key, reloaded on SIGHUP.
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, "first.lab", certFile, keyFile)
	cmd, lines := startServe(t, bin, "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data2"), "--web", web,
		"--tls-cert", certFile, "--tls-key", keyFile, "--tls-check", "1h")
	addr = waitLine(t, lines, httpsAt)
	peer := func() string {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := peer(); got != "first.lab" {
		t.Fatalf("served %s, want first.lab", got)
	}
	writeSelfSigned(t, "second.lab", certFile, keyFile)
	cmd.Process.Signal(syscall.SIGHUP)
	if got := waitLine(t, lines, reloadedTo); got != "second.lab" {
		t.Errorf("SIGHUP reloaded %s", got)
	}
	if got := peer(); got != "second.lab" {
		t.Errorf("after SIGHUP the server serves %s, want second.lab", got)
	}

	// Plain HTTP: SIGHUP (systemctl reload) does not end the server.
	cmd, lines = startServe(t, bin, "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data3"), "--web", web)
	plain := waitLine(t, lines, consoleAt)
	cmd.Process.Signal(syscall.SIGHUP)
	waitLine(t, lines, regexp.MustCompile(`(SIGHUP): no certificate files`))
	resp, err = http.Get(plain + "/healthz")
	if err != nil {
		t.Fatalf("after SIGHUP the plain server is gone: %v", err)
	}
	resp.Body.Close()
}

func writeSelfSigned(t *testing.T, cn, certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(keyFile+".new", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	os.WriteFile(certFile+".new", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.Rename(keyFile+".new", keyFile)
	os.Rename(certFile+".new", certFile)
}

// TestServeACME runs serve with --acme-domain against a real ACME server
// (Pebble): the first handshake for the name gets a certificate that
// verifies against Pebble's root, and the console is served with it.
func TestServeACME(t *testing.T) {
	p := pebbletest.Start(t, 24*time.Hour)
	dir := t.TempDir()
	bin := buildTrustforge(t, dir)
	data, web := filepath.Join(dir, "data"), filepath.Join(dir, "web")
	os.MkdirAll(web, 0o755)
	os.WriteFile(filepath.Join(web, "app.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	_, lines := startServe(t, bin, "--addr", "127.0.0.1:0", "--data", data, "--web", web, "--acme-domain", "tf.test",
		"--acme-directory", p.Directory, "--acme-ca-roots", p.CAFile, "--acme-email", "ops@tf.test")
	addr := waitLine(t, lines, httpsAt)
	go func() {
		for range lines {
		}
	}()
	toServer := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DialContext: toServer, ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: p.Roots(t), ServerName: "tf.test"}}}
	resp, err := client.Get("https://tf.test/healthz")
	if err != nil {
		t.Fatalf("HTTPS with an ACME certificate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS.PeerCertificates[0].DNSNames[0] != "tf.test" {
		t.Errorf("health check: %d, certificate for %v", resp.StatusCode, resp.TLS.PeerCertificates[0].DNSNames)
	}
	if _, err := os.Stat(filepath.Join(data, "acme", "tf.test")); err != nil {
		t.Errorf("the certificate is not cached in the data directory: %v", err)
	}
}
