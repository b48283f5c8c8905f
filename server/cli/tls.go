package cli

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"trustforge/server/certs"
)

// runTLS implements `trustforge tls init`: a local CA and a server
// certificate in the data directory, for benches and production lines
// whose server has no public DNS name. serve uses them when no other TLS
// flag is given.
func runTLS(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] != "init" {
		return usageErrorf("usage: trustforge tls init --data DIR --hostname NAME [--hostname NAME…] [--ip ADDR…] [--new-ca]")
	}
	fs := newFlagSet(env, "tls init", "tls init --data DIR --hostname NAME [--ip ADDR] [--new-ca]")
	dataDir := fs.String("data", "data", "the server's data `directory`")
	var hosts, ips stringList
	fs.Var(&hosts, "hostname", "a `NAME` the server is reached by (repeat or comma-separate)")
	fs.Var(&ips, "ip", "an `ADDRESS` the server is reached by (repeat or comma-separate)")
	newCA := fs.Bool("new-ca", false, "make a new CA even if the data directory has one (browsers must trust the new one)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	o := certs.LocalOptions{NewCA: *newCA}
	for _, h := range hosts {
		o.Hostnames = append(o.Hostnames, strings.Split(h, ",")...)
	}
	for _, a := range ips {
		for _, s := range strings.Split(a, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			ip := net.ParseIP(s)
			if ip == nil {
				return usageErrorf("--ip %q is not an IP address", s)
			}
			o.IPs = append(o.IPs, ip)
		}
	}
	if len(o.Hostnames) == 0 && len(o.IPs) == 0 {
		return usageErrorf("name the server with --hostname (and/or --ip)")
	}
	dir := certs.LocalDir(*dataDir)
	l, err := certs.InitLocal(dir, o)
	if err != nil {
		return err
	}
	caFile := filepath.Join(dir, certs.LocalCACert)
	names := append([]string{}, l.Server.DNSNames...)
	for _, ip := range l.Server.IPAddresses {
		names = append(names, ip.String())
	}
	if l.NewCA {
		fmt.Fprintf(env.Stdout, "made a local CA %q in %s (its key: %s, owner-only)\n", l.CA.Subject.CommonName, dir, certs.LocalCAKey)
	} else {
		fmt.Fprintf(env.Stdout, "kept the local CA %q in %s\n", l.CA.Subject.CommonName, dir)
	}
	fmt.Fprintf(env.Stdout, "issued a server certificate for %s, valid until %s; serve renews it from the CA\n",
		strings.Join(names, ", "), l.Server.NotAfter.Format("2006-01-02"))
	fmt.Fprintf(env.Stdout, `
'trustforge serve --data %s' now speaks HTTPS with it. Each computer that opens the console must trust
the CA certificate %s once. The CA can only vouch for %s.

  Debian/Ubuntu (the system store: curl, the trustforge command line):
    sudo cp %s /usr/local/share/ca-certificates/trustforge-local-ca.crt && sudo update-ca-certificates
  Chrome/Chromium on Linux (its own store):
    certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n "trustforge local CA" -i %s
  macOS:
    sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain %s
  Windows (administrator):
    certutil -addstore -f ROOT %s
  Chrome, or chrome://certificate-manager: Custom → Installed by you → Import.

Its SHA-256 fingerprint, to compare on each computer: %s
`, *dataDir, caFile, strings.Join(names, ", "), caFile, caFile, caFile, caFile, fingerprint(l.CA.Raw))
	return nil
}

// fingerprint is a certificate's SHA-256 as colon-separated hex, as
// browsers and OS certificate dialogs show it.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
