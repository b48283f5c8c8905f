package certs

import (
	"crypto/ecdsa"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLocalCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	l, err := InitLocal(dir, LocalOptions{Hostnames: []string{"TF.Lab.", "tf"}, IPs: []net.IP{net.ParseIP("192.0.2.10")}})
	if err != nil {
		t.Fatal(err)
	}
	if !l.NewCA {
		t.Error("the first init did not report a new CA")
	}
	for name, want := range map[string]os.FileMode{LocalCAKey: 0o600, LocalServerKey: 0o600, ".": 0o700} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(l.CA)
	for _, name := range []string{"tf.lab", "tf", "192.0.2.10"} {
		if _, err := l.Server.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("the server certificate for %s: %v", name, err)
		}
	}
	// The CA is constrained to those names: a certificate it issued for
	// another site does not verify.
	evil, err := issueServer(t.TempDir(), l.CA, mustCAKey(t, dir), LocalOptions{Hostnames: []string{"bank.example"}, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evil.Verify(x509.VerifyOptions{Roots: roots, DNSName: "bank.example"}); err == nil {
		t.Error("the local CA can vouch for bank.example")
	}

	// Init again with the same names keeps the CA; a new name makes a new
	// one (the old one's constraints do not cover it).
	again, err := InitLocal(dir, LocalOptions{Hostnames: []string{"tf.lab"}})
	if err != nil || again.NewCA || !again.CA.Equal(l.CA) {
		t.Errorf("init with known names: new CA %v (%v)", again.NewCA, err)
	}
	grown, err := InitLocal(dir, LocalOptions{Hostnames: []string{"tf.lab", "line2.lab"}})
	if err != nil || !grown.NewCA {
		t.Errorf("init with a new name: new CA %v (%v)", grown.NewCA, err)
	}

	// Loading renews a server certificate near its end.
	f, loaded, err := LoadLocal(dir, time.Now())
	if err != nil || !loaded.Server.Equal(grown.Server) || !f.Leaf().Equal(grown.Server) {
		t.Fatalf("load: %v", err)
	}
	_, later, err := LoadLocal(dir, grown.Server.NotAfter.Add(-24*time.Hour))
	if err != nil || later.Server.Equal(grown.Server) {
		t.Errorf("a server certificate a day from its end was not renewed (%v)", err)
	}
	if _, _, err := LoadLocal(t.TempDir(), time.Now()); err != ErrNoLocalCA {
		t.Errorf("an empty directory: %v, want ErrNoLocalCA", err)
	}
	for _, bad := range []string{"192.0.2.1", "-x.lab", "a..b", "under_score.lab"} {
		if _, err := InitLocal(t.TempDir(), LocalOptions{Hostnames: []string{bad}}); err == nil {
			t.Errorf("hostname %q accepted", bad)
		}
	}
	if _, err := InitLocal(t.TempDir(), LocalOptions{}); err == nil {
		t.Error("a CA for no name")
	}
	if SPKIHash(l.Server) == "" {
		t.Error("no SPKI hash")
	}
}

func mustCAKey(t *testing.T, dir string) *ecdsa.PrivateKey {
	t.Helper()
	_, k, err := readPair(filepath.Join(dir, LocalCACert), filepath.Join(dir, LocalCAKey))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
