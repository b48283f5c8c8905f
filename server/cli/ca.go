package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"trustforge/crypto/pki"
	"trustforge/crypto/vault"
)

// caCommands lists the subcommands of `trustforge ca`, one line each. Keep
// it sorted by name.
func caCommands() []command {
	return []command{
		{"backup", "write the whole CA (keys sealed to a passphrase) to an age file", runCABackup},
		{"crl", "sign a product's revocation list, and publish it to a server", runCACRL},
		{"init", "create the root CA in a new CA directory", runCAInit},
		{"intermediate", "create a product's intermediate CA", runCAIntermediate},
		{"issue", "check a board's certificate request and issue its chain", runCAIssue},
		{"list", "list the CAs, profiles and issued certificates", runCAList},
		{"profile", "define a product's provisioning profile", runCAProfile},
		{"restore", "restore a CA backup (made here or in the console) into a CA directory", runCARestore},
		{"revoke", "revoke a device certificate", runCARevoke},
		{"trust", "register the root with a release server as a product's trust anchor", runCATrust},
	}
}

// runCA dispatches `trustforge ca SUBCOMMAND`.
func runCA(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(env.Stderr, "usage: trustforge ca <subcommand> --dir DIR [flags] [args]")
		fmt.Fprintln(env.Stderr)
		for _, c := range caCommands() {
			fmt.Fprintf(env.Stderr, "  %-12s %s\n", c.name, c.summary)
		}
		fmt.Fprintln(env.Stderr)
		fmt.Fprintln(env.Stderr, "A CA directory holds a sealed key vault and the CA's records, as the console keeps them")
		fmt.Fprintln(env.Stderr, "in the browser. Its passphrase comes from --passphrase-file, $"+caPassphraseEnv+" or the terminal.")
		if len(args) == 0 {
			return usageErrorf("name a subcommand")
		}
		return flag.ErrHelp
	}
	for _, c := range caCommands() {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	return usageErrorf("unknown subcommand %q (see 'trustforge ca -h')", args[0])
}

// caPassphraseEnv names the environment variable automation sets to pass
// the CA directory's passphrase without a terminal.
const caPassphraseEnv = "TRUSTFORGE_CA_PASSPHRASE"

// caFlags are the flags of every ca subcommand.
type caFlags struct {
	dir, passFile string
}

func (f *caFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "dir", "", "the CA `directory` (required)")
	fs.StringVar(&f.passFile, "passphrase-file", "", "read the CA passphrase from `FILE` (default $"+caPassphraseEnv+", else the terminal)")
}

func (f *caFlags) passphrase(confirm bool) (string, error) {
	if f.passFile != "" {
		return readSecretFile(f.passFile)
	}
	if p := os.Getenv(caPassphraseEnv); p != "" {
		return p, nil
	}
	p, err := readPassphraseTerminal("CA passphrase: ")
	if err != nil {
		return "", fmt.Errorf("%w (or set %s, or use --passphrase-file)", err, caPassphraseEnv)
	}
	if confirm {
		again, err := readPassphraseTerminal("CA passphrase again: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", errors.New("the passphrases differ")
		}
	}
	return p, nil
}

// open opens the CA directory's authority; unlock unseals its vault.
func (f *caFlags) open(ctx context.Context, unlock bool) (*pki.Authority, *vault.Vault, error) {
	if f.dir == "" {
		return nil, nil, usageErrorf("--dir is required")
	}
	st, err := openDirStore(f.dir, false)
	if err != nil {
		return nil, nil, fmt.Errorf("CA directory: %w", err)
	}
	v, err := vault.Open(ctx, st, vault.Options{})
	if errors.Is(err, vault.ErrNoVault) {
		return nil, nil, fmt.Errorf("%s is not a CA directory: create one with 'trustforge ca init --dir %s'", f.dir, f.dir)
	}
	if err != nil {
		return nil, nil, err
	}
	if unlock {
		pass, err := f.passphrase(false)
		if err != nil {
			return nil, nil, err
		}
		if err := v.Unlock(ctx, pass); err != nil {
			return nil, nil, err
		}
	}
	return pki.New(st, v, pki.Options{}), v, nil
}

func runCAInit(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "ca init", "ca init --dir DIR --org NAME [--cn NAME] [--validity DURATION]")
	var cf caFlags
	cf.register(fs)
	org := fs.String("org", "", "the organisation, the root's O (required)")
	cn := fs.String("cn", "", "the root's CN (default: ORG Device Root CA)")
	validity := fs.Duration("validity", 0, "the root's validity (default 30 years)")
	work := fs.Int("scrypt-work-factor", vault.DefaultWorkFactor, "log2 of the scrypt cost that seals the vault")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if cf.dir == "" || *org == "" {
		return usageErrorf("--dir and --org are required")
	}
	st, err := openDirStore(cf.dir, true)
	if err != nil {
		return err
	}
	pass, err := cf.passphrase(true)
	if err != nil {
		return err
	}
	v, err := vault.Create(ctx, st, pass, vault.Options{WorkFactor: *work})
	if err != nil {
		return err
	}
	a := pki.New(st, v, pki.Options{})
	root, err := a.InitRoot(ctx, pki.RootOptions{Organization: *org, CommonName: *cn, Validity: *validity})
	if err != nil {
		return err
	}
	cert, _ := root.Certificate()
	out := filepath.Join(cf.dir, "root.pem")
	if err := os.WriteFile(out, pki.CertPEM(cert), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "root CA %q, key %s\nits certificate is in %s: give it to the servers that verify your boards\n",
		cert.Subject.String(), root.ID[:16], out)
	return nil
}

func runCAIntermediate(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "ca intermediate", "ca intermediate --dir DIR --product NAME [--cn NAME] [--validity DURATION]")
	var cf caFlags
	cf.register(fs)
	product := fs.String("product", "", "the product (required)")
	cn := fs.String("cn", "", "the intermediate's CN (default: PRODUCT Device CA)")
	validity := fs.Duration("validity", 0, "the intermediate's validity (default 20 years)")
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
	c, err := a.AddIntermediate(ctx, pki.IntermediateOptions{Product: *product, CommonName: *cn, Validity: *validity})
	if err != nil {
		return err
	}
	cert, _ := c.Certificate()
	out := filepath.Join(cf.dir, *product+"-intermediate.pem")
	if err := os.WriteFile(out, pki.CertPEM(cert), 0o644); err != nil {
		return err
	}
	sub, _ := c.Subtree()
	fmt.Fprintf(env.Stdout, "intermediate CA %q, key %s, certifies only subjects under %q\nits certificate is in %s\n",
		cert.Subject.String(), c.ID[:16], sub, out)
	return nil
}

func runCAList(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "ca list", "ca list --dir DIR")
	var cf caFlags
	cf.register(fs)
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	a, _, err := cf.open(ctx, false)
	if err != nil {
		return err
	}
	cas, err := a.CAs(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tPRODUCT\tKEY\tSUBJECT\tISSUED")
	for _, c := range cas {
		issued, err := a.Issued(ctx, c.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", c.Kind, dash(c.Product), c.ID[:16], c.Name(), len(issued))
	}
	tw.Flush()
	ps, err := a.Profiles(ctx)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		fmt.Fprintln(env.Stdout)
		tw = tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROFILE\tCN\tURI\tBOOT KEY\tENCRYPT\tLOCK")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%v\n", p.Product, dash(p.Template.CommonName), dash(p.Template.URI),
				dash(short(p.BootKeyHash)), p.EncryptImages, !p.LeaveUnlocked)
		}
		tw.Flush()
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

// profileOf returns the profile of product, with a hint when it is missing.
func profileOf(ctx context.Context, a *pki.Authority, product string) (pki.Profile, error) {
	p, err := a.Profile(ctx, product)
	if errors.Is(err, pki.ErrNotFound) {
		return p, fmt.Errorf("%w: define it with 'trustforge ca profile --product %s'", err, product)
	}
	return p, err
}
