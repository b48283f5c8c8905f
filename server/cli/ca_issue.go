package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"trustforge/crypto/pki"
)

func runCAIssue(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "ca issue", "ca issue --dir DIR --product NAME --device-id HEX [-o CHAIN.pem] REQUEST.csr")
	var cf caFlags
	cf.register(fs)
	product := fs.String("product", "", "the product whose profile applies (required)")
	id := fs.String("device-id", "", "the board's unique id in hex (required)")
	out := fs.String("o", "", "write the chain (PEM: device, intermediate, root) to `FILE` (default standard output)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *product == "" || *id == "" || len(pos) != 1 {
		return usageErrorf("give --product, --device-id and one certificate request file")
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	der, err := pki.DecodeCSR(data)
	if err != nil {
		return err
	}
	a, _, err := cf.open(ctx, true)
	if err != nil {
		return err
	}
	p, err := profileOf(ctx, a, *product)
	if err != nil {
		return err
	}
	pol, err := a.Policy(ctx, p, *id, nil)
	if err != nil {
		return err
	}
	csr, err := pol.Check(der)
	if err != nil {
		return fmt.Errorf("refused: %w", err)
	}
	prov, err := a.Issue(ctx, p, *id, csr)
	if err != nil {
		return err
	}
	chain := prov.Chain.PEM()
	if *out == "" {
		_, err = env.Stdout.Write(chain)
		return err
	}
	if err := writeOutput(*out, 0o644, func(w io.Writer) error { _, err := w.Write(chain); return err }); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "issued %q, serial %s, to %s\n", prov.Chain[0].Subject.String(), prov.Record.Serial, *out)
	return nil
}

func runCARevoke(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "ca revoke", "ca revoke --dir DIR --product NAME (--serial HEX | --device-id HEX) [--reason REASON]")
	var cf caFlags
	cf.register(fs)
	product := fs.String("product", "", "the product whose intermediate issued the certificate (required)")
	serial := fs.String("serial", "", "the certificate's serial number, hex")
	id := fs.String("device-id", "", "or the board's id: its certificates are revoked")
	reason := fs.String("reason", "keyCompromise", "keyCompromise, superseded, cessationOfOperation, affiliationChanged or unspecified")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *product == "" || (*serial == "") == (*id == "") {
		return usageErrorf("give --product and one of --serial and --device-id")
	}
	code, err := pki.ParseReason(*reason)
	if err != nil {
		return usageErrorf("%v", err)
	}
	a, _, err := cf.open(ctx, false)
	if err != nil {
		return err
	}
	p, err := profileOf(ctx, a, *product)
	if err != nil {
		return err
	}
	serials := []string{*serial}
	if *id != "" {
		recs, err := a.Find(ctx, *id)
		if err != nil {
			return err
		}
		serials = nil
		for _, r := range recs {
			if r.Issuer == p.Issuer {
				serials = append(serials, r.Serial)
			}
		}
		if len(serials) == 0 {
			return fmt.Errorf("no certificate of %s was issued to device %s", *product, *id)
		}
	}
	for _, s := range serials {
		r, err := a.Revoke(ctx, p.Issuer, s, code)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "revoked %s (device %s, %s); publish it with 'trustforge ca crl --product %s'\n", r.Serial, r.DeviceID, *reason, *product)
	}
	return nil
}

func runCACRL(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "ca crl", "ca crl --dir DIR --product NAME [-o FILE.crl] [--publish --server URL --token T]")
	var cf caFlags
	cf.register(fs)
	var rf remoteFlags
	rf.register(fs)
	product := fs.String("product", "", "the product whose intermediate signs the list (required)")
	out := fs.String("o", "", "write the CRL (PEM) to `FILE` (default standard output)")
	publish := fs.Bool("publish", false, "upload the CRL to the release server, which serves it at /api/crls/ISSUER")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *product == "" {
		return usageErrorf("--product is required")
	}
	a, _, err := cf.open(ctx, true)
	if err != nil {
		return err
	}
	p, err := profileOf(ctx, a, *product)
	if err != nil {
		return err
	}
	der, err := a.CRL(ctx, p.Issuer)
	if err != nil {
		return err
	}
	if *publish {
		c, err := rf.client()
		if err != nil {
			return err
		}
		if err := c.PublishCRL(ctx, der); err != nil {
			return err
		}
		fmt.Fprintln(env.Stderr, "published to", rf.server)
	}
	text := pki.CRLPEM(der)
	if *out == "" {
		if *publish {
			return nil
		}
		_, err = env.Stdout.Write(text)
		return err
	}
	return writeOutput(*out, 0o644, func(w io.Writer) error { _, err := w.Write(text); return err })
}
