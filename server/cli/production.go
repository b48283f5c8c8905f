package cli

import (
	"bufio"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
)

// productionCommands lists the subcommands of `trustforge production`.
func productionCommands() []command {
	return []command{
		{"inspect", "verify a production package (.tfp), print its order; open it with a station's identity", runProductionInspect},
		{"ticket", "check the production ticket a device certificate carries", runProductionTicket},
	}
}

// runProduction dispatches `trustforge production SUBCOMMAND`.
func runProduction(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(env.Stderr, "usage: trustforge production <subcommand> [flags] [args]")
		fmt.Fprintln(env.Stderr)
		for _, c := range productionCommands() {
			fmt.Fprintf(env.Stderr, "  %-10s %s\n", c.name, c.summary)
		}
		if len(args) == 0 {
			return usageErrorf("name a subcommand")
		}
		return flag.ErrHelp
	}
	for _, c := range productionCommands() {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	return usageErrorf("unknown subcommand %q (see 'trustforge production -h')", args[0])
}

const productionInspectSynopsis = "production inspect [-k PUBKEY.pem]... [-i STATION-IDENTITY]... [--json] PACKAGE.tfp"

// packageReport is what `production inspect` found.
type packageReport struct {
	File    string `json:"file"`
	ID      string `json:"id"`
	Signer  string `json:"signer"`
	Trusted bool   `json:"trusted"`
	// Payload is "verified" (its size and SHA-256 are the manifest's) or
	// "opened" (decrypted with -i and its contents checked).
	Payload  string               `json:"payload"`
	Manifest *production.Manifest `json:"manifest"`
}

func runProductionInspect(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "production inspect", productionInspectSynopsis)
	var trustedPaths, idPaths stringList
	fs.Var(&trustedPaths, "k", "trusted release-signing public key (PEM or DER); repeatable. Without -k only integrity is checked")
	fs.Var(&idPaths, "i", "a station's age identity file, to open the package and check its contents; repeatable")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("want one PACKAGE.tfp, got %d arguments", len(pos))
	}
	trusted, err := readTrustedKeys(trustedPaths)
	if err != nil {
		return err
	}
	ids, err := readIdentities(idPaths)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	rep := packageReport{File: pos[0]}
	if len(ids) > 0 {
		o := production.OpenOptions{Trusted: trusted, Identities: ids}
		if len(trusted) == 0 {
			s, err := production.ReadHeader(bufio.NewReader(f))
			if err != nil {
				return fmt.Errorf("%s: %w", pos[0], err)
			}
			o.TrustedKeyIDs = []string{s.KeyID()}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
		}
		p, err := production.Open(ctx, bufio.NewReaderSize(f, 64<<10), o)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		rep.ID, rep.Signer, rep.Trusted, rep.Payload, rep.Manifest = p.ID, p.Signer, len(trusted) > 0, "opened", p.Manifest
	} else {
		r := bufio.NewReaderSize(f, 64<<10)
		s, err := production.ReadHeader(r)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		var m *production.Manifest
		if len(trusted) > 0 {
			m, err = s.Verify(trusted...)
		} else {
			m, err = s.VerifyIntegrity()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		pv := bundle.NewPayloadCheck(m.Payload)
		if _, err := io.Copy(pv, io.LimitReader(readerCtx{ctx, r}, m.Payload.Size+1)); err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		if err := pv.Check(); err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		rep.ID, rep.Signer, rep.Trusted, rep.Payload, rep.Manifest = s.ID(), s.KeyID(), len(trusted) > 0, "verified", m
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	m := rep.Manifest
	w := env.Stdout
	trust := "integrity only, signer not checked (no -k)"
	if rep.Trusted {
		trust = "trusted"
	}
	fmt.Fprintf(w, "package:    %s\nid:         %s\nsigned by:  %s (%s)\n", rep.File, rep.ID, rep.Signer, trust)
	fmt.Fprintf(w, "order:      %s of %s: %d devices, %s to %s\n", m.Batch, m.Product, m.Count,
		m.NotBefore.Format(time.RFC3339), m.Expires.Format(time.RFC3339))
	fmt.Fprintf(w, "release:    %s (%s), image %s, %d bytes, programmed %s\n", m.Release.Version, m.Release.ID,
		m.Release.Image.SHA256, m.Release.Image.Size, m.ImageMode)
	bootKey := m.Profile.BootKeyHash
	if bootKey == "" {
		bootKey = "none"
	}
	fmt.Fprintf(w, "profile:    boot key %s, device encryption %v, locked %v\n", bootKey, m.Profile.EncryptImages, !m.Profile.LeaveUnlocked)
	if d := m.DFU; d != (production.DFU{}) {
		at, rdp := "the start of its flash", "left as it is"
		if d.Address != 0 {
			at = fmt.Sprintf("%#08x", d.Address)
		}
		if d.ReadOutProtection {
			rdp = "set to RDP level 1 after the read back, once the station's operator confirms it"
		}
		fmt.Fprintf(w, "usb dfu:    an STM32 gets the image at %s; read-out protection %s\n", at, rdp)
	}
	if ca, _, err := m.Certificates(); err == nil {
		fmt.Fprintf(w, "batch CA:   %s, valid until %s\n", ca.Subject, ca.NotAfter.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "stations:   %s\npayload:    %s\n", strings.Join(m.Stations, ", "), rep.Payload)
	if !rep.Trusted {
		fmt.Fprintf(env.Stderr, "trustforge production inspect: the signer %s was not checked against a trusted key (pass -k PUBKEY.pem)\n", rep.Signer)
	}
	return nil
}

const productionTicketSynopsis = "production ticket --key TICKET-KEY.pem [--package ID] CERT.pem|CHAIN.pem|CERT.der"

func runProductionTicket(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "production ticket", productionTicketSynopsis)
	keyPath := fs.String("key", "", "the release server's ticket key (GET /api/production/ticket-key). Required")
	pkg := fs.String("package", "", "the production package the device must belong to (its id); empty accepts any")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *keyPath == "" {
		return usageErrorf("want --key and one certificate file")
	}
	kb, err := os.ReadFile(*keyPath)
	if err != nil {
		return err
	}
	k, err := keys.ParsePublicKey(kb)
	if err != nil {
		return fmt.Errorf("%s: %w", *keyPath, err)
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	chain, err := pki.ParseChain(data)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	return checkTicket(env, chain[0], k.Crypto(), *pkg)
}

// checkTicket reports the ticket leaf carries, and fails when it carries
// none or one that is not valid for it.
func checkTicket(env Env, leaf *x509.Certificate, key crypto.PublicKey, pkg string) error {
	st, ok, err := production.TicketOf(leaf)
	switch {
	case !ok:
		return errors.New("the certificate carries no production ticket: the device was not built under a production order")
	case err != nil:
		return err
	}
	t, err := st.Verify(key)
	if err != nil {
		return fmt.Errorf("the certificate's ticket is not the server's: %w", err)
	}
	id := deviceIDOf(leaf)
	want := pkg
	if want == "" {
		want = t.Package
	}
	if err := t.For(want, id, leaf.NotBefore); err != nil {
		return fmt.Errorf("the ticket is not valid for this certificate: %w", err)
	}
	bound := "device " + t.Device
	if t.Device == "" {
		bound = "an offline block (bound at registration)"
	}
	fmt.Fprintf(env.Stdout, "ticket %s: %d of %d of order %s (%s), package %s, for %s, issued %s\n",
		t.ID, t.Seq, t.Count, t.Batch, t.Product, t.Package, bound, t.Issued.Format(time.RFC3339))
	return nil
}

// deviceIDOf returns the device id a ticket bound to this certificate
// names, when the certificate's names contain it; else "".
func deviceIDOf(c *x509.Certificate) string {
	st, _, _ := production.TicketOf(c)
	if st == nil {
		return ""
	}
	d := st.Claimed().Device
	if d != "" && (strings.Contains(strings.ToLower(c.Subject.CommonName), d) || urisContain(c, d)) {
		return d
	}
	return ""
}

func urisContain(c *x509.Certificate, s string) bool {
	for _, u := range c.URIs {
		if strings.Contains(strings.ToLower(u.String()), s) {
			return true
		}
	}
	return false
}
