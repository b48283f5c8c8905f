package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
)

// releaseFixture is a directory with a signing key, two age identities and
// a signed MCUboot image.
type releaseFixture struct {
	dir                       string
	signKey, pubKey, otherPub string
	tech, line                string // identity files
	techRecipient, recipients string // a recipient, and a recipients file
	image                     string
	imageBytes                []byte
}

func newReleaseFixture(t *testing.T) *releaseFixture {
	t.Helper()
	dir := t.TempDir()
	fx := &releaseFixture{dir: dir}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sign, err := keys.Generate(rand.Reader, keys.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := sign.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	fx.signKey = write("release.pem", pemBytes)
	fx.pubKey = write("release-pub.pem", sign.Public().MarshalPEM())
	other, err := keys.Generate(rand.Reader, keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	fx.otherPub = write("other-pub.pem", other.Public().MarshalPEM())

	var recips []string
	for _, name := range []string{"tech.agekey", "line.agekey"} {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		p := write(name, fmt.Appendf(nil, "# created: 2026-03-01T12:00:00Z\n# public key: %s\n%s\n", id.Recipient(), id))
		recips = append(recips, id.Recipient().String())
		if fx.tech == "" {
			fx.tech = p
		} else {
			fx.line = p
		}
	}
	fx.techRecipient = recips[0]
	fx.recipients = write("recipients.txt", []byte("# field technicians\n"+strings.Join(recips, "\n")+"\n"))

	payload := make([]byte, 40000)
	rand.Read(payload)
	cnt := uint32(5)
	fx.imageBytes, err = mcuimg.Sign(payload, &mcuimg.SignOptions{
		Key: sign, Version: mcuimg.Version{Major: 1, Minor: 4, Revision: 2, Build: 7}, SecurityCounter: &cnt,
		HeaderSize: 0x200, PadHeader: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	fx.image = write("app.signed.bin", fx.imageBytes)
	return fx
}

// run runs the trustforge CLI and returns its exit code and output.
func run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

// createDefault makes fx.dir/app.tfb for the two identities.
func (fx *releaseFixture) createDefault(t *testing.T) string {
	t.Helper()
	out := filepath.Join(fx.dir, "app.tfb")
	code, stdout, stderr := run("release", "create", "-k", fx.signKey, "-r", fx.recipients,
		"--product", "thermo-x2", "--channel", "beta", "--hardware", "thermo-x2-rev-b",
		"--notes", "Calibrates the humidity sensor.", fx.image, "-o", out)
	if code != 0 {
		t.Fatalf("release create: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "thermo-x2 1.4.2+7 (beta)") {
		t.Errorf("release create printed %q", stdout)
	}
	return out
}

// leftovers lists files in dir other than the fixture's and want.
func (fx *releaseFixture) leftovers(t *testing.T, want ...string) []string {
	t.Helper()
	known := map[string]bool{"release.pem": true, "release-pub.pem": true, "other-pub.pem": true,
		"tech.agekey": true, "line.agekey": true, "recipients.txt": true, "app.signed.bin": true, "pass.txt": true}
	for _, w := range want {
		known[filepath.Base(w)] = true
	}
	entries, err := os.ReadDir(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	var extra []string
	for _, e := range entries {
		if !known[e.Name()] {
			extra = append(extra, e.Name())
		}
	}
	return extra
}

func TestReleaseCreateInspectOpen(t *testing.T) {
	t.Parallel()
	fx := newReleaseFixture(t)
	tfb := fx.createDefault(t)

	code, stdout, stderr := run("release", "inspect", "-k", fx.otherPub, "-k", fx.pubKey, tfb)
	if code != 0 {
		t.Fatalf("release inspect: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"EdDSA by key", "(trusted)", "version:          1.4.2+7", "security counter: 5",
		"hardware:         thermo-x2-rev-b", "(verified)", fx.techRecipient, "Calibrates the humidity sensor."} {
		if !strings.Contains(stdout, want) {
			t.Errorf("release inspect output lacks %q:\n%s", want, stdout)
		}
	}

	code, stdout, stderr = run("release", "inspect", "--json", tfb)
	if code != 0 {
		t.Fatalf("release inspect --json: exit %d\n%s", code, stderr)
	}
	var rep inspectReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("release inspect --json: %v\n%s", err, stdout)
	}
	if rep.Signature.Trusted || rep.Payload != "verified" || rep.Manifest.Image.Size != int64(len(fx.imageBytes)) {
		t.Errorf("release inspect --json = %+v", rep)
	}
	if !strings.Contains(stderr, "not checked against a trusted key") {
		t.Errorf("release inspect without -k does not warn: %q", stderr)
	}
	_, hash, _ := mustParseImage(t, fx.imageBytes).Hash()
	if got := rep.Manifest.Image.SHA256.String(); got != fmt.Sprintf("%x", hash) {
		t.Errorf("manifest image SHA256 = %s, want the image's TLV %x", got, hash)
	}

	// The manifest part on its own, as the server serves it.
	raw, err := os.ReadFile(tfb)
	if err != nil {
		t.Fatal(err)
	}
	s, err := bundle.ReadHeader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(fx.dir, "app.manifest")
	if err := os.WriteFile(part, s.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = run("release", "inspect", "-k", fx.pubKey, part)
	if code != 0 || !strings.Contains(stdout, "(absent)") || !strings.Contains(stdout, "(trusted)") {
		t.Errorf("release inspect of the manifest part: exit %d\n%s%s", code, stdout, stderr)
	}

	for _, id := range []string{fx.tech, fx.line} {
		out := filepath.Join(fx.dir, "opened.bin")
		code, _, stderr = run("release", "open", "-i", id, "-k", fx.pubKey, tfb, "-o", out)
		if code != 0 {
			t.Fatalf("release open -i %s: exit %d\n%s", filepath.Base(id), code, stderr)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, fx.imageBytes) {
			t.Fatalf("release open -i %s: image differs", filepath.Base(id))
		}
		if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
			t.Errorf("opened image mode %v, want 0600", fi.Mode().Perm())
		}
	}
	if extra := fx.leftovers(t, tfb, "opened.bin", part); len(extra) > 0 {
		t.Errorf("left behind: %v", extra)
	}
}

func mustParseImage(t *testing.T, b []byte) *mcuimg.Image {
	t.Helper()
	img, err := mcuimg.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestReleaseTampered changes one byte in each region of a bundle and
// checks that inspect and open refuse it, open leaving no file.
func TestReleaseTampered(t *testing.T) {
	t.Parallel()
	fx := newReleaseFixture(t)
	tfb := fx.createDefault(t)
	good, err := os.ReadFile(tfb)
	if err != nil {
		t.Fatal(err)
	}
	s, err := bundle.ReadHeader(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	payloadStart := bundle.HeaderSize + len(s.Bytes())
	for _, tt := range []struct {
		name string
		at   int
		want string
	}{
		{"magic", 0, "not a trustforge bundle"},
		{"container version", 9, "unsupported"},
		{"manifest length", 12, ""},
		{"manifest", payloadStart - 100, ""},
		{"signature", payloadStart - 1, "bad signature"},
		{"payload header", payloadStart + 10, "payload does not match"},
		{"payload end", len(good) - 1, "payload does not match"},
	} {
		bad := bytes.Clone(good)
		bad[tt.at] ^= 0x20
		p := filepath.Join(fx.dir, "bad.tfb")
		if err := os.WriteFile(p, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(fx.dir, "bad.bin")
		for _, args := range [][]string{
			{"release", "inspect", p},
			{"release", "open", "-i", fx.tech, "-k", fx.pubKey, p, "-o", out},
		} {
			code, _, stderr := run(args...)
			if code != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("%s changed: %s: exit %d, %q; want exit 1 and %q", tt.name, args[1], code, stderr, tt.want)
			}
		}
		if extra := fx.leftovers(t, tfb, p); len(extra) > 0 {
			t.Errorf("%s changed: open left behind %v", tt.name, extra)
		}
	}
}

func TestReleaseOpenRefuses(t *testing.T) {
	t.Parallel()
	fx := newReleaseFixture(t)
	tfb := fx.createDefault(t)
	stranger, _ := age.GenerateX25519Identity()
	strangerFile := filepath.Join(fx.dir, "stranger.agekey")
	os.WriteFile(strangerFile, []byte(stranger.String()+"\n"), 0o600)
	out := filepath.Join(fx.dir, "out.bin")

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"wrong identity", []string{"-i", strangerFile, tfb, "-o", out}, 1, "no identity opens the payload"},
		{"untrusted signer", []string{"-i", fx.tech, "-k", fx.otherPub, tfb, "-o", out}, 1, "untrusted key"},
		{"no identity", []string{tfb, "-o", out}, 2, "give an identity"},
		{"no output", []string{"-i", fx.tech, tfb}, 2, "-o IMAGE is required"},
	}
	for _, tt := range tests {
		code, _, stderr := run(append([]string{"release", "open"}, tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, %q; want exit %d and %q", tt.name, code, stderr, tt.code, tt.want)
		}
	}
	if extra := fx.leftovers(t, tfb, strangerFile); len(extra) > 0 {
		t.Errorf("left behind: %v", extra)
	}
}

// TestReleasePassphrase is not parallel: it sets TRUSTFORGE_PASSPHRASE.
func TestReleasePassphrase(t *testing.T) {
	fx := newReleaseFixture(t)
	passFile := filepath.Join(fx.dir, "pass.txt")
	os.WriteFile(passFile, []byte("correct horse battery staple\n"), 0o600)
	tfb := filepath.Join(fx.dir, "app.tfb")
	code, _, stderr := run("release", "create", "-k", fx.signKey, "--passphrase-file", passFile, "--scrypt-work-factor", "10",
		"--product", "thermo-x2", "--channel", "stable", "--version", "1.4.2", fx.image, "-o", tfb)
	if code != 0 {
		t.Fatalf("release create --passphrase-file: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(fx.dir, "out.bin")
	code, _, stderr = run("release", "open", "--passphrase-file", passFile, tfb, "-o", out)
	if code != 0 {
		t.Fatalf("release open --passphrase-file: exit %d\n%s", code, stderr)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, fx.imageBytes) {
		t.Fatal("release open --passphrase-file: image differs")
	}
	os.Remove(out)

	t.Setenv(passphraseEnv, "correct horse battery staple")
	if code, _, stderr = run("release", "open", "--passphrase", tfb, "-o", out); code != 0 {
		t.Fatalf("release open with $%s: exit %d\n%s", passphraseEnv, code, stderr)
	}
	os.Remove(out)

	t.Setenv(passphraseEnv, "wrong horse")
	code, _, stderr = run("release", "open", "--passphrase", tfb, "-o", out)
	if code != 1 || !strings.Contains(stderr, "no identity opens the payload") {
		t.Fatalf("release open with a wrong passphrase: exit %d, %q", code, stderr)
	}
	if extra := fx.leftovers(t, tfb); len(extra) > 0 {
		t.Errorf("left behind: %v", extra)
	}
}

func TestReleaseCreateRefuses(t *testing.T) {
	t.Parallel()
	fx := newReleaseFixture(t)
	notImage := filepath.Join(fx.dir, "app.bin")
	os.WriteFile(notImage, bytes.Repeat([]byte{0x5a}, 5000), 0o600)
	tampered := filepath.Join(fx.dir, "tampered.bin")
	bad := bytes.Clone(fx.imageBytes)
	bad[1000] ^= 1
	os.WriteFile(tampered, bad, 0o600)
	out := filepath.Join(fx.dir, "out.tfb")
	base := []string{"release", "create", "-k", fx.signKey, "-r", fx.techRecipient, "--product", "thermo-x2", "--channel", "stable", "-o", out}

	tests := []struct {
		name  string
		extra []string
		code  int
		want  string
	}{
		{"not an MCUboot image", []string{notImage}, 1, "not a valid MCUboot image"},
		{"image hash broken", []string{tampered}, 1, "not a valid MCUboot image"},
		{"version other than the header's", []string{"--version", "1.5.0", fx.image}, 1, "does not match the image header"},
		{"build other than the header's", []string{"--version", "1.4.2+8", fx.image}, 1, "does not match the image header"},
		{"security counter other than the TLV", []string{"--security-counter", "4", fx.image}, 1, "differs from the image's SEC_CNT"},
		{"bad product name", []string{"--product", "thermo x2", fx.image}, 1, "product"},
		{"passphrase and recipients", []string{"--passphrase", fx.image}, 2, "not both"},
		{"public key as signing key", []string{"-k", fx.pubKey, fx.image}, 1, "public key"}, // the last -k counts
		{"no image", nil, 2, "want one IMAGE"},
	}
	for _, tt := range tests {
		args := append(append([]string(nil), base...), tt.extra...)
		code, _, stderr := run(args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, %q; want exit %d and %q", tt.name, code, stderr, tt.code, tt.want)
		}
	}
	if extra := fx.leftovers(t, notImage, tampered); len(extra) > 0 {
		t.Errorf("left behind: %v", extra)
	}
}

func TestReleaseUsage(t *testing.T) {
	t.Parallel()
	if code, _, stderr := run("release"); code != 2 || !strings.Contains(stderr, "inspect") {
		t.Errorf("release: exit %d, %q", code, stderr)
	}
	if code, _, stderr := run("release", "frobnicate"); code != 2 || !strings.Contains(stderr, "unknown subcommand") {
		t.Errorf("release frobnicate: exit %d, %q", code, stderr)
	}
	if code, _, _ := run("release", "create", "-h"); code != 0 {
		t.Errorf("release create -h: exit %d", code)
	}
}
