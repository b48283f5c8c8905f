package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"

	"trustforge/crypto/keys"
)

func algorithmNames() string {
	var names []string
	for _, a := range keys.Algorithms() {
		names = append(names, string(a))
	}
	return strings.Join(names, ", ")
}

// runKeygen implements `trustforge keygen`, imgtool keygen's counterpart.
func runKeygen(ctx context.Context, env Env, args []string) error {
	specs := []optSpec{
		{long: "type", short: "t", kind: optValue, metavar: "TYPE", help: "key type: " + algorithmNames()},
		{long: "key", short: "k", kind: optValue, metavar: "FILE", help: "private key file to write (PKCS#8 PEM); never overwritten"},
		{long: "export", short: "e", kind: optValue, metavar: "FILE", help: "also write the public key (PEM) here"},
		{long: "password", short: "p", kind: optBool, help: "not supported: keys are written without a password"},
	}
	o, err := parseOpts(env, "keygen -t TYPE -k KEY.pem [-e PUB.pem]", specs, args)
	if err != nil {
		return err
	}
	if _, err := o.positionals(0, "no arguments"); err != nil {
		return err
	}
	if o.flag("password") {
		return usageErrorf("--password: password-protected keys are not supported; protect the file instead")
	}
	typ, err := o.require("type")
	if err != nil {
		return err
	}
	path, err := o.require("key")
	if err != nil {
		return err
	}
	alg, err := keys.ParseAlgorithm(typ)
	if err != nil {
		return usageErrorf("--type: %v", err)
	}
	k, err := keys.Generate(rand.Reader, alg)
	if err != nil {
		return err
	}
	pemBytes, err := k.MarshalPEM()
	if err != nil {
		return err
	}
	if err := createNew(path, pemBytes); err != nil {
		return err
	}
	if exp := o.str("export"); exp != "" {
		if err := writeOutput(exp, 0o644, func(w io.Writer) error {
			_, err := w.Write(k.Public().MarshalPEM())
			return err
		}); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Stdout, "wrote %s (%s)\n", path, k.Public())
	return nil
}

// loadPublicKey reads a public key from a public or private key file.
func loadPublicKey(path string) (*keys.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := keys.ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// loadPrivateKey reads a private key file.
func loadPrivateKey(path string) (*keys.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := keys.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// runGetpub implements `trustforge getpub`, imgtool getpub's counterpart.
func runGetpub(ctx context.Context, env Env, args []string) error {
	specs := []optSpec{
		{long: "key", short: "k", kind: optValue, metavar: "FILE", help: "private or public key file"},
		{long: "encoding", short: "e", kind: optValue, metavar: "ENC", help: "lang-c (default), lang-rust, pem or raw (SubjectPublicKeyInfo DER)"},
		{long: "lang", short: "l", kind: optValue, metavar: "LANG", help: "c or rust (older spelling of --encoding)"},
		{long: "output", short: "o", kind: optValue, metavar: "FILE", help: "write here instead of standard output"},
	}
	o, err := parseOpts(env, "getpub -k KEY.pem [-e lang-c|lang-rust|pem|raw] [-o FILE]", specs, args)
	if err != nil {
		return err
	}
	if _, err := o.positionals(0, "no arguments"); err != nil {
		return err
	}
	path, err := o.require("key")
	if err != nil {
		return err
	}
	enc := o.str("encoding")
	switch lang := o.str("lang"); {
	case lang != "" && enc != "":
		return usageErrorf("give --encoding or --lang, not both")
	case lang == "c":
		enc = "lang-c"
	case lang == "rust":
		enc = "lang-rust"
	case lang != "":
		return usageErrorf("--lang %q: want c or rust", lang)
	case enc == "":
		enc = "lang-c"
	}
	k, err := loadPublicKey(path)
	if err != nil {
		return err
	}
	var out []byte
	switch enc {
	case "lang-c":
		out = []byte(k.CSource())
	case "lang-rust":
		out = []byte(k.RustSource())
	case "pem":
		out = k.MarshalPEM()
	case "raw":
		out = k.SPKI()
	default:
		return usageErrorf("--encoding %q: want lang-c, lang-rust, pem or raw", enc)
	}
	return emit(env, o.str("output"), out)
}

// runGetpubhash implements `trustforge getpubhash`: the SHA-256 of the
// public key, the value images carry in their KEYHASH TLV.
func runGetpubhash(ctx context.Context, env Env, args []string) error {
	specs := []optSpec{
		{long: "key", short: "k", kind: optValue, metavar: "FILE", help: "private or public key file"},
		{long: "encoding", short: "e", kind: optValue, metavar: "ENC", help: "lang-c (default) or raw"},
		{long: "output", short: "o", kind: optValue, metavar: "FILE", help: "write here instead of standard output"},
	}
	o, err := parseOpts(env, "getpubhash -k KEY.pem [-e lang-c|raw] [-o FILE]", specs, args)
	if err != nil {
		return err
	}
	if _, err := o.positionals(0, "no arguments"); err != nil {
		return err
	}
	path, err := o.require("key")
	if err != nil {
		return err
	}
	k, err := loadPublicKey(path)
	if err != nil {
		return err
	}
	var out []byte
	switch enc := o.str("encoding"); enc {
	case "", "lang-c":
		out = []byte(k.CSourceHash())
	case "raw":
		sum := sha256.Sum256(k.SPKI())
		out = sum[:]
	default:
		return usageErrorf("--encoding %q: want lang-c or raw", enc)
	}
	return emit(env, o.str("output"), out)
}

// emit writes out to path, or to standard output when path is empty.
func emit(env Env, path string, out []byte) error {
	if path == "" {
		_, err := env.Stdout.Write(out)
		return err
	}
	return writeOutput(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(out)
		return err
	})
}
