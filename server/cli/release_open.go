package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"trustforge/crypto/bundle"
)

const releaseOpenSynopsis = "release open (-i AGE_IDENTITY... | --passphrase) [-k PUBKEY.pem]... BUNDLE.tfb -o IMAGE"

func runReleaseOpen(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "release open", releaseOpenSynopsis)
	var idPaths, trustedPaths stringList
	fs.Var(&idPaths, "i", "age identity file (as age-keygen writes); repeatable")
	passphrase := fs.Bool("passphrase", false, "open with a passphrase (from the terminal, $"+passphraseEnv+" or --passphrase-file)")
	passphraseFile := fs.String("passphrase-file", "", "read the passphrase from the first line of `FILE`")
	fs.Var(&trustedPaths, "k", "trusted release-signing public key (PEM or DER); repeatable. Without -k the signer is not checked, only the bundle's integrity")
	out := fs.String("o", "", "where to write the MCUboot image")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usageErrorf("want one BUNDLE.tfb, got %d arguments", len(pos))
	case *out == "":
		return usageErrorf("-o IMAGE is required")
	case len(idPaths) == 0 && !*passphrase && *passphraseFile == "":
		return usageErrorf("give an identity (-i AGE_IDENTITY) or --passphrase")
	}
	ids, err := readIdentities(idPaths)
	if err != nil {
		return err
	}
	if *passphrase || *passphraseFile != "" {
		p, err := getPassphrase(*passphraseFile, false)
		if err != nil {
			return err
		}
		id, err := bundle.PassphraseIdentity(p)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	trusted, err := readTrustedKeys(trustedPaths)
	if err != nil {
		return err
	}

	in, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	s, err := bundle.ReadHeader(in)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	var m *bundle.Manifest
	if len(trusted) > 0 {
		m, err = s.Verify(trusted...)
	} else {
		m, err = s.VerifyIntegrity()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}

	// The image is secret: readable by its owner only, and under its name
	// only once every check has passed.
	err = writeOutput(*out, 0o600, func(w io.Writer) error {
		return bundle.Decrypt(ctx, w, in, m, ids...)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	fmt.Fprintf(env.Stdout, "%s: %s %s (%s), %d bytes, SHA256 TLV %s\n",
		*out, m.Product, m.Version, m.Channel, m.Image.Size, m.Image.SHA256)
	if len(trusted) == 0 {
		fmt.Fprintf(env.Stderr, "trustforge release open: the signer %s was not checked against a trusted key (pass -k PUBKEY.pem)\n", s.KeyID())
	}
	return nil
}
