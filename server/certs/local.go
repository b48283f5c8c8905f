package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The files of a local CA, in its directory (LocalDir of a data
// directory).
const (
	LocalCACert     = "ca.pem"
	LocalCAKey      = "ca-key.pem"
	LocalServerCert = "server.pem"
	LocalServerKey  = "server-key.pem"
)

// LocalDir is where a data directory keeps its local CA.
func LocalDir(dataDir string) string { return filepath.Join(dataDir, "tls") }

// Lifetimes of the local CA's certificates. Server certificates stay
// within the 398 days browsers accept from public CAs, so the local CA
// behaves the same whoever trusts it; serve renews them from the CA.
const (
	localCAValidity     = 10 * 365 * 24 * time.Hour
	localServerValidity = 397 * 24 * time.Hour
	// LocalRenewBefore is how long before its expiry serve renews the
	// local server certificate.
	LocalRenewBefore = 30 * 24 * time.Hour
)

// LocalOptions says what a local CA certifies.
type LocalOptions struct {
	// Hostnames and IPs are the server's names; at least one is required.
	Hostnames []string
	IPs       []net.IP
	// NewCA makes a new CA even if one exists (the old one must then be
	// untrusted, the new one trusted). Without it an existing CA is kept
	// when its name constraints allow the names.
	NewCA bool
	// Now is the clock; nil means time.Now. Rand is the randomness; nil
	// means crypto/rand.
	Now  func() time.Time
	Rand io.Reader
}

// Local is a local CA and the server certificate it issued.
type Local struct {
	Dir    string
	CA     *x509.Certificate
	Server *x509.Certificate
	// NewCA says the CA was made by this call and must be trusted anew.
	NewCA bool
}

// ErrNoLocalCA means the directory holds no local CA.
var ErrNoLocalCA = errors.New("certs: no local CA")

// InitLocal makes (or keeps) a local CA in dir and issues it a server
// certificate for the options' names, replacing any server certificate.
func InitLocal(dir string, o LocalOptions) (*Local, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	hosts, err := cleanHostnames(o.Hostnames)
	if err != nil {
		return nil, err
	}
	o.Hostnames = hosts
	if len(o.Hostnames) == 0 && len(o.IPs) == 0 {
		return nil, errors.New("certs: name the server: at least one hostname or IP address")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	os.Chmod(dir, 0o700)
	l := &Local{Dir: dir}
	var caKey *ecdsa.PrivateKey
	if !o.NewCA {
		l.CA, caKey, err = readPair(filepath.Join(dir, LocalCACert), filepath.Join(dir, LocalCAKey))
		if errors.Is(err, fs.ErrNotExist) {
			l.CA = nil
		} else if err != nil {
			return nil, err
		}
		if l.CA != nil && (!permits(l.CA, o.Hostnames, o.IPs) || o.Now().Add(localServerValidity).After(l.CA.NotAfter)) {
			l.CA = nil // the names grew, or the CA is near its end: a new one
		}
	}
	if l.CA == nil {
		if l.CA, caKey, err = newLocalCA(o); err != nil {
			return nil, err
		}
		if err := writePair(dir, LocalCACert, LocalCAKey, l.CA, caKey); err != nil {
			return nil, err
		}
		l.NewCA = true
	}
	if l.Server, err = issueServer(dir, l.CA, caKey, o); err != nil {
		return nil, err
	}
	return l, nil
}

// LoadLocal reads a local CA and its server certificate from dir, renewing
// the server certificate from the CA when it is within LocalRenewBefore of
// its expiry. It returns ErrNoLocalCA when dir holds none.
func LoadLocal(dir string, now time.Time) (*Files, *Local, error) {
	ca, caKey, err := readPair(filepath.Join(dir, LocalCACert), filepath.Join(dir, LocalCAKey))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, ErrNoLocalCA
	} else if err != nil {
		return nil, nil, err
	}
	srv, _, err := readPair(filepath.Join(dir, LocalServerCert), filepath.Join(dir, LocalServerKey))
	if err != nil {
		return nil, nil, err
	}
	l := &Local{Dir: dir, CA: ca, Server: srv}
	if now.Add(LocalRenewBefore).After(srv.NotAfter) {
		o := LocalOptions{Hostnames: srv.DNSNames, IPs: srv.IPAddresses, Now: func() time.Time { return now }}
		if l.Server, err = issueServer(dir, ca, caKey, o); err != nil {
			return nil, nil, err
		}
	}
	f, err := LoadFiles(filepath.Join(dir, LocalServerCert), filepath.Join(dir, LocalServerKey))
	if err != nil {
		return nil, nil, err
	}
	return f, l, nil
}

func cleanHostnames(in []string) ([]string, error) {
	var out []string
	for _, h := range in {
		h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
		if h == "" {
			continue
		}
		if net.ParseIP(h) != nil {
			return nil, fmt.Errorf("certs: %q is an IP address: pass it with --ip", h)
		}
		for _, label := range strings.Split(h, ".") {
			if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") ||
				strings.TrimFunc(label, func(r rune) bool { return r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }) != "" {
				return nil, fmt.Errorf("certs: %q is not a host name", h)
			}
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
}

// permits reports whether ca's name constraints allow every name.
func permits(ca *x509.Certificate, hosts []string, ips []net.IP) bool {
	for _, h := range hosts {
		if !slices.Contains(ca.PermittedDNSDomains, h) {
			return false
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(ca.PermittedIPRanges, func(n *net.IPNet) bool { return n.Contains(ip) }) {
			return false
		}
	}
	return true
}

func serial(o LocalOptions) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(randOf(o), b); err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b), nil
}

func newLocalCA(o LocalOptions) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), randOf(o))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	sn, err := serial(o)
	if err != nil {
		return nil, nil, err
	}
	now := o.Now()
	name := "trustforge local CA"
	if len(o.Hostnames) > 0 {
		name += " for " + o.Hostnames[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: name, Organization: []string{"trustforge"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(localCAValidity),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		MaxPathLen: 0, MaxPathLenZero: true,
		PermittedDNSDomainsCritical: true, PermittedDNSDomains: o.Hostnames,
	}
	for _, ip := range o.IPs {
		bits := 32
		if ip.To4() == nil {
			bits = 128
		}
		tmpl.PermittedIPRanges = append(tmpl.PermittedIPRanges, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
	}
	if len(tmpl.PermittedDNSDomains) == 0 {
		// Only addresses: forbid every DNS name (an empty constraint
		// would allow all).
		tmpl.ExcludedDNSDomains = []string{""}
	}
	if len(tmpl.PermittedIPRanges) == 0 {
		tmpl.ExcludedIPRanges = []*net.IPNet{{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}, {IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}}
	}
	der, err := x509.CreateCertificate(randOf(o), tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	return c, key, nil
}

func issueServer(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, o LocalOptions) (*x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), randOf(o))
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	sn, err := serial(o)
	if err != nil {
		return nil, err
	}
	now := o.Now()
	cn := ""
	if len(o.Hostnames) > 0 {
		cn = o.Hostnames[0]
	} else if len(o.IPs) > 0 {
		cn = o.IPs[0].String()
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(localServerValidity),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, DNSNames: o.Hostnames, IPAddresses: o.IPs,
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	der, err := x509.CreateCertificate(randOf(o), tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	// The server's file carries the chain: its certificate, then the CA's.
	if err := writePair(dir, LocalServerCert, LocalServerKey, c, key, ca); err != nil {
		return nil, err
	}
	return c, nil
}

// writePair writes a certificate (with extra chain certificates) and its
// key, the key owner-only; each file is replaced atomically.
func writePair(dir, certName, keyName string, c *x509.Certificate, key *ecdsa.PrivateKey, chain ...*x509.Certificate) error {
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	var cp bytes.Buffer
	for _, x := range append([]*x509.Certificate{c}, chain...) {
		pem.Encode(&cp, &pem.Block{Type: "CERTIFICATE", Bytes: x.Raw})
	}
	if err := writeFile(filepath.Join(dir, keyName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, certName), cp.Bytes(), 0o644)
}

func writeFile(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}

// readPair reads a PEM certificate (the first of its file) and its ECDSA
// key.
func readPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("certs: %s: %w", certPath, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("certs: %s is not an ECDSA key", keyPath)
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %s: %w", certPath, err)
	}
	return c, key, nil
}

// SPKIHash is the base64 SHA-256 of a certificate's public key, as
// Chromium's --ignore-certificate-errors-spki-list and HPKP name keys.
func SPKIHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
