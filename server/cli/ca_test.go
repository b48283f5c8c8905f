package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"trustforge/crypto/pki"
	"trustforge/devices/sim"
	"trustforge/server/api"
)

// registryServer is an in-process release server with a product "thermo"
// and a station's API token.
type registryServer struct {
	url, token string // token: a station's
	engineer   string // an engineer's token
}

func startRegistry(t *testing.T) registryServer {
	t.Helper()
	var log bytes.Buffer
	srv, err := api.Open(context.Background(), api.Config{DataDir: t.TempDir(), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	call := func(method, path, token string, in, out any) {
		t.Helper()
		b, _ := json.Marshal(in)
		req, _ := http.NewRequest(method, hs.URL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, body)
		}
		if out != nil {
			json.Unmarshal(body, out)
		}
	}
	m := regexp.MustCompile(`token=(tfe_[A-Za-z0-9_-]+)`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no enrolment link: %s", log.String())
	}
	call("POST", "/api/enrol", "", map[string]string{"token": m[1], "name": "root", "password": "root password 1"}, nil)
	var s struct {
		CSRF string `json:"csrf_token"`
	}
	// Sign in with a cookie jar to create the admin's token.
	jar := &cookieJar{}
	client := &http.Client{Jar: jar}
	b, _ := json.Marshal(map[string]string{"name": "root", "password": "root password 1"})
	resp, err := client.Post(hs.URL+"/api/session", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	req, _ := http.NewRequest("POST", hs.URL+"/api/tokens", strings.NewReader(`{"name":"setup"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", s.CSRF)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tk struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&tk)
	resp.Body.Close()
	call("POST", "/api/users", tk.Token, map[string]string{"name": "line1", "role": "station"}, nil)
	var st struct{ Token string }
	call("POST", "/api/users/line1/tokens", tk.Token, map[string]string{"name": "line"}, &st)
	call("POST", "/api/users", tk.Token, map[string]string{"name": "erin", "role": "engineer"}, nil)
	var eng struct{ Token string }
	call("POST", "/api/users/erin/tokens", tk.Token, map[string]string{"name": "cli"}, &eng)
	call("POST", "/api/products", tk.Token, map[string]any{"name": "thermo", "channels": []string{"stable"}}, nil)
	return registryServer{url: hs.URL, token: st.Token, engineer: eng.Token}
}

type cookieJar struct{ cookies []*http.Cookie }

func (j *cookieJar) SetCookies(_ *url.URL, c []*http.Cookie) { j.cookies = append(j.cookies, c...) }
func (j *cookieJar) Cookies(*url.URL) []*http.Cookie         { return j.cookies }

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := run(args...)
	if code != 0 {
		t.Fatalf("trustforge %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

func TestCAAndProvisioning(t *testing.T) {
	t.Setenv(caPassphraseEnv, "ca passphrase for tests")
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca")
	mustRun(t, "ca", "init", "--dir", ca, "--org", "Acme Devices", "--scrypt-work-factor", "1")
	mustRun(t, "ca", "intermediate", "--dir", ca, "--product", "thermo")
	if code, _, stderr := run("ca", "init", "--dir", ca, "--org", "Again", "--scrypt-work-factor", "1"); code == 0 || !strings.Contains(stderr, "already") {
		t.Errorf("a second ca init: exit %d %s", code, stderr)
	}

	uid := []byte{0xab, 0xcd, 0xef, 0x01, 0x23, 0x45}
	tb := startBoard(t, sim.Config{Provisioning: sim.ProvisionConfig{UID: uid}})
	bootPub := filepath.Join(dir, "boot.pem")
	os.WriteFile(bootPub, tb.signer.Public().MarshalPEM(), 0o644)
	out := mustRun(t, "ca", "profile", "--dir", ca, "--product", "thermo", "--boot-key", bootPub, "--encrypt-images")
	if !strings.Contains(out, "thermo-0011223344556677") {
		t.Errorf("profile printed %q", out)
	}
	reg := startRegistry(t)
	// Only an engineer or administrator makes the root a trust anchor;
	// only then are the product's boards registered, and by an engineer:
	// a station registers only the boards of its production orders.
	if code, _, stderr := run("ca", "trust", "--dir", ca, "--product", "thermo", "--server", reg.url, "--token", reg.token); code == 0 || !strings.Contains(stderr, "forbidden") {
		t.Errorf("a station registering the root: exit %d %s", code, stderr)
	}
	if out := mustRun(t, "ca", "trust", "--dir", ca, "--product", "thermo", "--server", reg.url, "--token", reg.engineer); !strings.Contains(out, "thermo now trusts") {
		t.Errorf("ca trust printed %q", out)
	}

	out = mustRun(t, "device", "provision", "--port", tb.path, "--ca", ca, "--product", "thermo", "--server", reg.url, "--token", reg.engineer, "--json")
	var res provisionJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !res.OK || res.Device != "abcdef012345" || len(res.Steps) != 12 || res.EncKey == "" {
		t.Errorf("provision result %+v", res)
	}
	p := tb.Provisioning()
	if !p.Locked || p.EncKey == nil || len(p.BootKey) != 32 {
		t.Errorf("the board holds %+v", p)
	}

	// Again: the board is locked.
	code, stdout, stderr := run("device", "provision", "--port", tb.path, "--ca", ca, "--product", "thermo", "--server", reg.url, "--token", reg.engineer)
	if code != 1 || !strings.Contains(stderr, "refused") || !strings.Contains(stderr, "locked") {
		t.Errorf("provisioning a locked board: exit %d\n%s%s", code, stdout, stderr)
	}
	// A clone: another board with the same id.
	clone := startBoard(t, sim.Config{Provisioning: sim.ProvisionConfig{UID: uid}})
	code, stdout, stderr = run("device", "provision", "--port", clone.path, "--ca", ca, "--product", "thermo", "--server", reg.url, "--token", reg.engineer)
	if code != 1 || !strings.Contains(stderr, "clone") {
		t.Errorf("provisioning a clone: exit %d\n%s%s", code, stdout, stderr)
	}
	if cp := clone.Provisioning(); cp.IDKey != nil || cp.Chain != nil || cp.Locked {
		t.Errorf("the clone was written: %+v", cp)
	}

	// ca issue from a request file; a request for another id is refused.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrFile := func(cn string) string {
		raw, _ := pki.Name{{Type: "O", Value: "Acme Devices"}, {Type: "OU", Value: "thermo"}, {Type: "CN", Value: cn}}.DER()
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw}, key)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, cn+".csr")
		os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644)
		return f
	}
	chainFile := filepath.Join(dir, "chain.pem")
	mustRun(t, "ca", "issue", "--dir", ca, "--product", "thermo", "--device-id", "0102", "-o", chainFile, csrFile("thermo-0102"))
	chainPEM, _ := os.ReadFile(chainFile)
	if c, err := pki.ParseChain(chainPEM); err != nil || len(c) != 3 || c[0].Subject.CommonName != "thermo-0102" {
		t.Errorf("issued chain: %v", err)
	}
	code, _, stderr = run("ca", "issue", "--dir", ca, "--product", "thermo", "--device-id", "0102", csrFile("thermo-0103"))
	if code != 1 || !strings.Contains(stderr, "refused") || !strings.Contains(stderr, "0103") {
		t.Errorf("issuing a request for another device: exit %d %s", code, stderr)
	}

	// Revoke and publish the CRL.
	mustRun(t, "ca", "revoke", "--dir", ca, "--product", "thermo", "--device-id", "abcdef012345")
	crlFile := filepath.Join(dir, "thermo.crl")
	code, _, stderr = run("ca", "crl", "--dir", ca, "--product", "thermo", "--publish", "--server", reg.url, "--token", reg.token)
	if code != 1 || !strings.Contains(stderr, "forbidden") {
		t.Errorf("a station publishing a CRL: exit %d %s", code, stderr)
	}
	mustRun(t, "ca", "crl", "--dir", ca, "--product", "thermo", "-o", crlFile, "--publish", "--server", reg.url, "--token", reg.engineer)
	crl, _ := os.ReadFile(crlFile)
	if l, err := pki.ParseCRL(crl, nil); err != nil || len(l.RevokedCertificateEntries) != 1 {
		t.Errorf("CRL: %v", err)
	}

	// Backup and restore into a new directory.
	backup := filepath.Join(dir, "ca.age")
	mustRun(t, "ca", "backup", "--dir", ca, "-o", backup)
	ca2 := filepath.Join(dir, "ca2")
	mustRun(t, "ca", "restore", "--dir", ca2, "--scrypt-work-factor", "1", backup)
	out = mustRun(t, "ca", "list", "--dir", ca2)
	if !strings.Contains(out, "root") || !strings.Contains(out, "intermediate") || !strings.Contains(out, "thermo") {
		t.Errorf("ca list after restore:\n%s", out)
	}
}
