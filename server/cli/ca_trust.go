package cli

import (
	"context"
	"fmt"

	"trustforge/crypto/pki"
)

// runCATrust implements `trustforge ca trust`: register the CA's root as a
// trust anchor of a product on a release server, the decision that lets
// the server accept the product's boards and production packages. It
// needs an engineer's or administrator's token, and is audited there.
func runCATrust(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "ca trust", "ca trust --dir DIR --product NAME --server URL --token T [--comment TEXT]")
	var cf caFlags
	cf.register(fs)
	var rf remoteFlags
	rf.register(fs)
	product := fs.String("product", "", "the product whose boards chain to this CA's root (required)")
	comment := fs.String("comment", "", "why, for the audit log")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *product == "" {
		return usageErrorf("--product is required")
	}
	a, _, err := cf.open(ctx, false)
	if err != nil {
		return err
	}
	info, err := a.Root(ctx)
	if err != nil {
		return err
	}
	root, err := info.Certificate()
	if err != nil {
		return err
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	r, err := c.AddDeviceRoot(ctx, *product, string(pki.CertPEM(root)), *comment)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s now trusts boards and production packages that chain to %s (SHA-256 %s)\n", *product, r.Subject, r.Fingerprint)
	return nil
}
