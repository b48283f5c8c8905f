package cli

import (
	"context"
	"crypto"
	"flag"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"

	"trustforge/crypto/keys"
)

// releaseCommands lists the subcommands of `trustforge release`, one line
// each. Keep it sorted by name.
func releaseCommands() []command {
	return []command{
		{"create", "encrypt and sign an MCUboot image into a .tfb bundle", runReleaseCreate},
		{"inspect", "verify a bundle's signature and payload, print its manifest", runReleaseInspect},
		{"list", "list releases on a server", runReleaseList},
		{"open", "verify and decrypt a bundle to its MCUboot image", runReleaseOpen},
		{"pull", "download a release from a server, resuming an interrupted download", runReleasePull},
		{"push", "upload a bundle to a server, which verifies it before publishing", runReleasePush},
	}
}

// runRelease dispatches `trustforge release SUBCOMMAND`.
func runRelease(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(env.Stderr, "usage: trustforge release <subcommand> [flags] [args]")
		fmt.Fprintln(env.Stderr)
		for _, c := range releaseCommands() {
			fmt.Fprintf(env.Stderr, "  %-10s %s\n", c.name, c.summary)
		}
		fmt.Fprintln(env.Stderr)
		fmt.Fprintln(env.Stderr, "Run 'trustforge release <subcommand> -h' for its flags.")
		if len(args) == 0 {
			return usageErrorf("name a subcommand")
		}
		return flag.ErrHelp
	}
	for _, c := range releaseCommands() {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	return usageErrorf("unknown subcommand %q (see 'trustforge release -h')", args[0])
}

// parseInterspersed parses fs's flags wherever they stand among args, as in
// `release create IMAGE -o OUT.tfb`, and returns the other arguments.
// Everything after "--" is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, usageErrorf("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// readTrustedKeys reads release-signing public keys (PEM or DER, or a
// private key file whose public half is meant).
func readTrustedKeys(paths []string) ([]crypto.PublicKey, error) {
	var out []crypto.PublicKey
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		k, err := keys.ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if !k.Algorithm().CanSign() {
			return nil, fmt.Errorf("%s: a %s key cannot sign releases", p, k.Algorithm())
		}
		out = append(out, k.Crypto())
	}
	return out, nil
}

// readIdentities reads age identity files (as age-keygen writes them).
func readIdentities(paths []string) ([]age.Identity, error) {
	var out []age.Identity
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		ids, err := age.ParseIdentities(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, ids...)
	}
	return out, nil
}

// readSecretFile reads a passphrase file: its first line.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("%s: empty passphrase", path)
	}
	return line, nil
}

// passphraseEnv names the environment variable automation sets to pass a
// bundle passphrase without a terminal.
const passphraseEnv = "TRUSTFORGE_PASSPHRASE"

// getPassphrase returns the passphrase from --passphrase-file, else from
// $TRUSTFORGE_PASSPHRASE, else from the terminal (asked twice when
// confirm is set).
func getPassphrase(file string, confirm bool) (string, error) {
	if file != "" {
		return readSecretFile(file)
	}
	if p := os.Getenv(passphraseEnv); p != "" {
		return p, nil
	}
	p, err := readPassphraseTerminal("Passphrase: ")
	if err != nil {
		return "", fmt.Errorf("%w (or set %s, or use --passphrase-file)", err, passphraseEnv)
	}
	if p == "" {
		return "", fmt.Errorf("empty passphrase")
	}
	if confirm {
		again, err := readPassphraseTerminal("Passphrase again: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", fmt.Errorf("the passphrases differ")
		}
	}
	return p, nil
}
