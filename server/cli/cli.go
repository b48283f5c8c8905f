// Package cli implements the subcommands of the trustforge binary: the
// console server and the command-line tools engineers, technicians and CI
// rigs run next to it.
//
// Each subcommand lives in its own file and is listed once in commands.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Env is what a subcommand may touch of the outside world.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// command is one subcommand of the trustforge binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

// commands lists every subcommand, sorted by name (cli_test.go checks).
func commands() []command {
	cmds := []command{
		{"admin", "on the server's data directory: issue an API token or an enrolment link", runAdmin},
		{"audit", "verify the release server's audit log, or export it", runAudit},
		{"ca", "the device CA: root, product intermediates, profiles, issuance, revocation", runCA},
		{"device", "talk to a board over SMP (mcumgr): echo, info, image list/upload/test/confirm/erase, reset", runDevice},
		{"dfu", "USB DFU and ST DfuSe: pack and inspect .dfu files; list, download, upload, detach, rdp (Linux usbfs)", runDFU},
		{"esp", "ESP32 boards: Secure Boot v2 signing, flash encryption, ROM loader flashing and eFuses (espsecure-style flags)", runESP},
		{"getpub", "print a key's public half (C, Rust, PEM or DER), as imgtool getpub", runGetpub},
		{"getpubhash", "print the SHA-256 of a public key, the KEYHASH images carry", runGetpubhash},
		{"image", "sign, verify, inspect and decrypt MCUboot images (imgtool-compatible)", runImage},
		{"keygen", "generate an ecdsa-p256, ed25519 or x25519 key, as imgtool keygen", runKeygen},
		{"migrate", "copy an embedded installation to a shared PostgreSQL database and S3 bucket, and verify the copy", runMigrate},
		{"precompress", "write the brotli and gzip copies the server sends of a console file", runPrecompress},
		{"production", "inspect production packages (.tfp) and check devices' production tickets", runProduction},
		{"release", "create, inspect and open signed, encrypted release bundles (.tfb)", runRelease},
		{"serve", "serve the console and the release API", runServe},
		{"tls", "make a local CA and a server certificate for HTTPS without public DNS (tls init)", runTLS},
		{"token", "create, list and revoke API tokens on a release server", runToken},
		{"version", "print the build version", runVersion},
	}
	return cmds
}

// errUsage marks an error whose message is already a usage text.
var errUsage = errors.New("usage")

// Run runs the subcommand named by args[0] and returns the process exit code:
// 0 on success, 1 on failure, 2 on a usage error.
func Run(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(env.Stderr, "trustforge %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(env.Stderr, "trustforge %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "trustforge: unknown command %q\n", args[0])
	usage(env.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: trustforge <command> [flags] [args]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'trustforge <command> -h' for a command's flags.")
}

// usageErrorf returns an error that Run reports with exit code 2.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage to env.Stderr.
func newFlagSet(env Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: trustforge %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
