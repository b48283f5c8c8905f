package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImageFailures checks that each kind of bad input fails with a precise
// message and the right exit code (1 failure, 2 usage), and that a failed
// sign leaves no output file.
func TestImageFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	signed := imgReadFile(t, imgVector("app-ed25519.signed.bin"))
	write := func(name string, b []byte) string {
		if err := os.WriteFile(p(name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p(name)
	}
	flipped := append([]byte(nil), signed...)
	flipped[0x300] ^= 1
	tampered := write("tampered.bin", flipped)
	truncated := write("truncated.bin", signed[:len(signed)-10])
	garbage := write("garbage.bin", append(append([]byte(nil), signed...), "junk"...))
	notImage := write("app.bin", imgReadFile(t, imgVector("app.bin")))
	sign := func(extra ...string) []string {
		a := append([]string{"image", "sign", "-k", imgVector("ed25519.pem")}, imgVectorArgs...)
		return append(append(a, extra...), imgVector("app.bin"), p("out.bin"))
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"wrong key", []string{"image", "verify", "-k", imgVector("ecdsa-p256-pub.pem"), imgVector("app-ed25519.signed.bin")}, 1, "not signed by the given key"},
		{"tampered payload", []string{"image", "verify", "-k", imgVector("ed25519-pub.pem"), tampered}, 1, "hash does not match"},
		{"truncated", []string{"image", "verify", tampered[:0] + truncated}, 1, "truncated"},
		{"trailing garbage", []string{"image", "verify", garbage}, 1, "trailing data"},
		{"not an image", []string{"image", "info", notImage}, 1, "bad image magic"},
		{"missing file", []string{"image", "verify", p("nope.bin")}, 1, "no such file"},
		{"verify no args", []string{"image", "verify"}, 2, "want IMG"},
		{"unknown subcommand", []string{"image", "frobnicate"}, 2, "unknown subcommand"},
		{"unknown option", sign("--frobnicate"), 2, "unknown option --frobnicate"},
		{"bad version", []string{"image", "sign", "-k", imgVector("ed25519.pem"), "--version", "1.2.x", "-H", "0x200", "-S", "0x40000", imgVector("app.bin"), p("out.bin")}, 2, "--version"},
		{"missing version", []string{"image", "sign", "-H", "0x200", "-S", "0x40000", imgVector("app.bin"), p("out.bin")}, 2, "missing required option --version"},
		{"custom TLV needs two values", []string{"image", "sign", "-v", "1", "-H", "0x200", "-S", "0x40000", imgVector("app.bin"), p("out.bin"), "--custom-tlv", "0xa0"}, 2, "needs two values"},
		{"custom TLV out of range", sign("--custom-tlv", "0x50", "0x01"), 2, "want 0xa0 to 0xfffe"},
		{"custom TLV odd hex", sign("--custom-tlv", "0xa0", "0x123"), 2, "hex digits"},
		{"bad dependency", sign("-d", "(1;0.5.0)"), 2, "--dependencies"},
		{"slot too small", []string{"image", "sign", "-k", imgVector("ed25519.pem"), "-v", "1", "-H", "0x200", "-S", "0x10000", "--pad-header", imgVector("app.bin"), p("out.bin")}, 1, "does not fit the slot"},
		{"header not zero", []string{"image", "sign", "-k", imgVector("ed25519.pem"), "-v", "1", "-H", "0x200", "-S", "0x40000", imgVector("app.bin"), p("out.bin")}, 1, "must be zeros"},
		{"x25519 cannot sign", []string{"image", "sign", "-k", imgVector("x25519-enc.pem"), "-v", "1", "-H", "0x200", "-S", "0x40000", "--pad-header", imgVector("app.bin"), p("out.bin")}, 2, "cannot sign"},
		{"ed25519 cannot encrypt", sign("-E", imgVector("ed25519-pub.pem")), 2, "cannot encrypt"},
		{"clear without encrypt", sign("--clear"), 2, "need --encrypt"},
		{"pure with ecdsa", []string{"image", "sign", "-k", imgVector("ecdsa-p256.pem"), "--pure", "-v", "1", "-H", "0x200", "-S", "0x40000", "--pad-header", imgVector("app.bin"), p("out.bin")}, 1, "pure signatures need an ed25519 key"},
		{"bad align", []string{"image", "sign", "-v", "1", "-H", "0x200", "-S", "0x40000", "--align", "3", imgVector("app.bin"), p("out.bin")}, 2, "--align 3"},
		{"decrypt wrong key", []string{"image", "decrypt", "-k", imgVector("ecdsa-p256.pem"), imgVector("app-ed25519-encx25519.signed.bin"), p("out.bin")}, 1, "cannot open it"},
		{"decrypt plaintext image", []string{"image", "decrypt", "-k", imgVector("x25519-enc.pem"), imgVector("app-ed25519.signed.bin"), p("out.bin")}, 1, "not encrypted"},
		{"decrypt with signing key", []string{"image", "decrypt", "-k", imgVector("ed25519.pem"), imgVector("app-ed25519-encx25519.signed.bin"), p("out.bin")}, 2, "do not decrypt"},
		{"keygen bad type", []string{"keygen", "-t", "rsa-2048", "-k", p("k.pem")}, 2, "--type"},
		{"keygen password", []string{"keygen", "-t", "ed25519", "-k", p("k.pem"), "-p"}, 2, "password"},
		{"getpub bad encoding", []string{"getpub", "-k", imgVector("ed25519.pem"), "-e", "base64"}, 2, "--encoding"},
		{"getpub not a key", []string{"getpub", "-k", imgVector("app.bin")}, 1, "malformed key"},
		{"option given twice", sign("--pad", "--pad"), 2, "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := imgRun(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
			if _, err := os.Stat(p("out.bin")); err == nil {
				t.Errorf("a failed command left out.bin behind")
				os.Remove(p("out.bin"))
			}
		})
	}
	if leftovers, _ := filepath.Glob(p(".*tmp*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestImageHelp(t *testing.T) {
	t.Parallel()
	code, _, stderr := imgRun(t, "image", "sign", "-h")
	if code != 0 || !strings.Contains(stderr, "--custom-tlv TAG VALUE") {
		t.Errorf("image sign -h: exit %d, %s", code, stderr)
	}
	if code, _, _ := imgRun(t, "image"); code != 2 {
		t.Errorf("image without subcommand: exit %d, want 2", code)
	}
}
