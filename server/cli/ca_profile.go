package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/devices/provision"
)

func runCAProfile(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "ca profile", "ca profile --dir DIR --product NAME [flags]")
	var cf caFlags
	cf.register(fs)
	product := fs.String("product", "", "the product (required); its intermediate CA issues")
	cn := fs.String("cn", "", "the subject CN pattern, with {id} and {product} (default "+pki.DefaultCommonName+")")
	uri := fs.String("uri", "", "the SAN URI pattern, a urn:dev: URN (default "+pki.DefaultURI+")")
	validity := fs.Duration("validity", 0, "device certificates' validity (default: no expiry, 99991231235959Z)")
	serverAuth := fs.Bool("server-auth", false, "allow TLS server authentication too")
	crlURL := fs.String("crl-url", "", "the CRL distribution point put in certificates")
	bootKey := fs.String("boot-key", "", "the image signing key `PUB.pem` whose hash is fused into each board")
	bootHash := fs.String("boot-key-hash", "", "or its SHA-256 in hex (trustforge getpubhash)")
	encrypt := fs.Bool("encrypt-images", false, "have each board generate its X25519 image encryption key")
	unlocked := fs.Bool("leave-unlocked", false, "do not lock boards (development boards only)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *product == "" {
		return usageErrorf("--product is required")
	}
	hash := *bootHash
	if *bootKey != "" {
		if hash != "" {
			return usageErrorf("give --boot-key or --boot-key-hash, not both")
		}
		b, err := os.ReadFile(*bootKey)
		if err != nil {
			return err
		}
		k, err := keys.ParsePublicKey(b)
		if err != nil {
			return fmt.Errorf("--boot-key: %w", err)
		}
		if !k.Algorithm().CanSign() {
			return fmt.Errorf("--boot-key: a %s key cannot sign images", k.Algorithm())
		}
		hash = hex.EncodeToString(provision.BootKeyHashOf(k))
	}
	a, _, err := cf.open(ctx, false)
	if err != nil {
		return err
	}
	p, err := a.SaveProfile(ctx, pki.Profile{Product: *product, BootKeyHash: hash, EncryptImages: *encrypt, LeaveUnlocked: *unlocked,
		Template: pki.Template{CommonName: *cn, URI: *uri, Validity: *validity, ServerAuth: *serverAuth, CRLURL: *crlURL}})
	if err != nil {
		return err
	}
	c, _ := a.CA(ctx, p.Issuer)
	base, _ := c.Subtree()
	ex, _ := p.Template.Render(base, p.Product, "0011223344556677")
	fmt.Fprintf(env.Stdout, "profile %s: issued by %s\n  a board with id 0011223344556677 becomes %q, %s\n", p.Product, c.Name(), ex.Name, ex.URI)
	if p.BootKeyHash != "" {
		fmt.Fprintf(env.Stdout, "  boot key hash fused: %s\n", p.BootKeyHash)
	}
	fmt.Fprintf(env.Stdout, "  image encryption key per board: %v; locked after provisioning: %v\n", p.EncryptImages, !p.LeaveUnlocked)
	return nil
}
