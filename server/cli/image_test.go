package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/mcuimg/ihex"
	"trustforge/server/cli"
)

// imgRun runs the trustforge command line in-process.
func imgRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.Run(context.Background(), args, cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
	return code, out.String(), errOut.String()
}

// imgRunOK runs a command that must succeed.
func imgRunOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := imgRun(t, args...)
	if code != 0 {
		t.Fatalf("trustforge %s: exit %d, stderr: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// imgVector returns the path of a file in testdata/imgtool.
func imgVector(name string) string { return filepath.Join("testdata", "imgtool", name) }

func imgReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// imgVectorArgs are the signing options of every vector, spelt in several
// of the ways imgtool users write them.
var imgVectorArgs = []string{"--version", "1.2.3+4", "--header-size", "0x200", "--align", "8", "--slot-size", "0x40000", "--pad-header"}

func TestImageSignReproducesImgtool(t *testing.T) {
	t.Parallel()
	want := imgReadFile(t, imgVector("app-ed25519.signed.bin"))
	spellings := [][]string{
		append([]string{"image", "sign", "-k", imgVector("ed25519.pem")}, imgVectorArgs...),
		{"image", "sign", "-key", imgVector("ed25519.pem"), "-v", "1.2.3+4", "-H", "512", "--align=8", "-S", "0x40000", "-pad-header"},
		{"image", "sign", "--key=" + imgVector("ed25519.pem"), "--version=1.2.3+4", "--header-size=0x200", "--slot-size=262144", "--pad-header"},
	}
	for i, args := range spellings {
		out := filepath.Join(t.TempDir(), "signed.bin")
		// Options may follow the positional arguments, as with imgtool.
		if i == 2 {
			args = append([]string{args[0], args[1], imgVector("app.bin"), out}, args[2:]...)
		} else {
			args = append(args, imgVector("app.bin"), out)
		}
		stdout := imgRunOK(t, args...)
		if got := imgReadFile(t, out); !bytes.Equal(got, want) {
			t.Errorf("spelling %d: signed image differs from imgtool's", i)
		}
		if !strings.Contains(stdout, "76a356a87ca01a018cfb19aa0055713b647727a15d4a8df80d2aada03ee9e4e3") {
			t.Errorf("spelling %d: stdout does not show the image hash: %s", i, stdout)
		}
	}
}

func TestKeygenGetpub(t *testing.T) {
	t.Parallel()
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			keyPath := filepath.Join(dir, "key.pem")
			exportPath := filepath.Join(dir, "pub.pem")
			imgRunOK(t, "keygen", "-t", string(alg), "-k", keyPath, "-e", exportPath)
			st, err := os.Stat(keyPath)
			if err != nil {
				t.Fatal(err)
			}
			if perm := st.Mode().Perm(); perm != 0o600 {
				t.Errorf("key file mode %v, want 0600", perm)
			}
			priv, err := keys.ParsePrivateKey(imgReadFile(t, keyPath))
			if err != nil || priv.Algorithm() != alg {
				t.Fatalf("generated key: %v, %v", priv, err)
			}
			if code, _, stderr := imgRun(t, "keygen", "-t", string(alg), "-k", keyPath); code != 1 || !strings.Contains(stderr, "already exists") {
				t.Errorf("keygen over an existing key: exit %d, %s", code, stderr)
			}
			if got := imgReadFile(t, exportPath); !bytes.Equal(got, priv.Public().MarshalPEM()) {
				t.Errorf("--export wrote %s", got)
			}
			if got := imgRunOK(t, "getpub", "-k", keyPath, "-e", "pem"); got != string(priv.Public().MarshalPEM()) {
				t.Errorf("getpub -e pem = %s", got)
			}
			if got := imgRunOK(t, "getpub", "--key", keyPath, "--encoding=raw"); got != string(priv.Public().SPKI()) {
				t.Errorf("getpub -e raw = %x", got)
			}
			if got := imgRunOK(t, "getpub", "-k", keyPath); got != priv.Public().CSource() {
				t.Errorf("getpub (lang-c) = %s", got)
			}
			if got := imgRunOK(t, "getpub", "-k", exportPath, "-l", "rust"); got != priv.Public().RustSource() {
				t.Errorf("getpub -l rust from the public key = %s", got)
			}
			outPath := filepath.Join(dir, "pub.h")
			imgRunOK(t, "getpub", "-k", keyPath, "-e", "lang-c", "-o", outPath)
			if got := imgReadFile(t, outPath); string(got) != priv.Public().CSource() {
				t.Errorf("getpub -o wrote %s", got)
			}
			if got := imgRunOK(t, "getpubhash", "-k", keyPath); !strings.Contains(got, "_pub_key_hash[] = {") {
				t.Errorf("getpubhash = %s", got)
			}
		})
	}
}

// TestImageRoundTrip drives keygen → getpub → sign (encrypted, with every
// protected TLV, padded and confirmed) → verify → info → decrypt.
func TestImageRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ sig, enc, keylen string }{
		{"ecdsa-p256", "ecdsa-p256", "128"},
		{"ed25519", "x25519", "256"},
	} {
		t.Run(tc.sig+"+"+tc.enc, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := func(name string) string { return filepath.Join(dir, name) }
			imgRunOK(t, "keygen", "-t", tc.sig, "-k", p("sign.pem"))
			imgRunOK(t, "keygen", "-t", tc.enc, "-k", p("enc.pem"))
			imgRunOK(t, "getpub", "-k", p("sign.pem"), "-e", "pem", "-o", p("sign-pub.pem"))
			imgRunOK(t, "getpub", "-k", p("enc.pem"), "-e", "pem", "-o", p("enc-pub.pem"))
			args := append([]string{"image", "sign", "-k", p("sign.pem"), "-E", p("enc-pub.pem"), "--encrypt-keylen", tc.keylen,
				"-s", "auto", "-d", "(1,0.5.0+0)", "--custom-tlv", "0xa0", "0x0102", "--custom-tlv", "0xa1", "board-x",
				"--pad", "--confirm"}, imgVectorArgs...)
			imgRunOK(t, append(args, imgVector("app.bin"), p("signed.bin"))...)

			out := imgRunOK(t, "image", "verify", "-k", p("sign-pub.pem"), "--decrypt-key", p("enc.pem"), p("signed.bin"))
			if !strings.Contains(out, "Image was correctly validated") || !strings.Contains(out, "Image version: 1.2.3+4") {
				t.Errorf("verify output: %s", out)
			}
			if code, _, stderr := imgRun(t, "image", "verify", "-k", p("sign-pub.pem"), p("signed.bin")); code != 1 || !strings.Contains(stderr, "encrypted") {
				t.Errorf("verify without the decryption key: exit %d, %s", code, stderr)
			}

			var info mcuimg.Info
			if err := json.Unmarshal([]byte(imgRunOK(t, "image", "info", "--json", p("signed.bin"))), &info); err != nil {
				t.Fatal(err)
			}
			wantFlag := map[string]uint32{"128": 0x4, "256": 0x8}[tc.keylen]
			if info.Header.Flags != wantFlag {
				t.Errorf("flags = %#x, want %#x", info.Header.Flags, wantFlag)
			}
			var prot []string
			for _, tlv := range info.TLVArea.Protected {
				prot = append(prot, tlv.TypeName+"="+tlv.Data)
			}
			wantProt := []string{"SEC_CNT=03000201", "DEPENDENCY=010000000005000000000000", "UNKNOWN=0102", "UNKNOWN=626f6172642d78"}
			if strings.Join(prot, " ") != strings.Join(wantProt, " ") {
				t.Errorf("protected TLVs = %v, want %v", prot, wantProt)
			}
			if info.Trailer.ImageOK == nil || *info.Trailer.ImageOK != 1 {
				t.Errorf("trailer image_ok = %v, want 1", info.Trailer.ImageOK)
			}
			if text := imgRunOK(t, "image", "info", p("signed.bin")); !strings.Contains(text, "security counter 16908291") || !strings.Contains(text, `text "board-x"`) {
				t.Errorf("info text lacks decoded TLVs:\n%s", text)
			}

			imgRunOK(t, "image", "decrypt", "-k", p("enc.pem"), p("signed.bin"), p("plain.bin"))
			imgRunOK(t, "image", "verify", "-k", p("sign-pub.pem"), p("plain.bin"))
			imgRunOK(t, "image", "decrypt", "-k", p("enc.pem"), "--payload", p("signed.bin"), p("payload.bin"))
			if !bytes.Equal(imgReadFile(t, p("payload.bin")), imgReadFile(t, imgVector("app.bin"))) {
				t.Error("decrypted payload differs from app.bin")
			}
		})
	}
}

func TestImageDecryptVector(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "app.bin")
	imgRunOK(t, "image", "decrypt", "-k", imgVector("x25519-enc.pem"), "--payload", imgVector("app-ed25519-encx25519.signed.bin"), out)
	if !bytes.Equal(imgReadFile(t, out), imgReadFile(t, imgVector("app.bin"))) {
		t.Error("decrypted vector differs from app.bin")
	}
}

func TestImageSignVariants(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name   string
		extra  []string
		verify []string
		want   string // in verify's output
	}{
		{"pure", []string{"-k", imgVector("ed25519.pem"), "--pure"}, []string{"-k", imgVector("ed25519-pub.pem")}, "(ED25519, pure)"},
		{"full key", []string{"-k", imgVector("ecdsa-p256.pem"), "--public-key-format", "full"}, []string{"-k", imgVector("ecdsa-p256-pub.pem")}, "(ECDSASIG)"},
		{"unsigned", nil, nil, "not checked"},
		{"clear", []string{"-k", imgVector("ed25519.pem"), "-E", imgVector("x25519-enc-pub.pem"), "--clear"}, []string{"-k", imgVector("ed25519-pub.pem")}, "(--clear)"},
		{"security counter", []string{"-k", imgVector("ed25519.pem"), "-s", "0x10"}, []string{"-k", imgVector("ed25519-pub.pem")}, "correctly validated"},
		{"two keys trusted", []string{"-k", imgVector("ed25519.pem")}, []string{"-k", imgVector("ecdsa-p256-pub.pem"), "-k", imgVector("ed25519.pem")}, "ed25519 public key"},
	}
	for i, tt := range tests {
		out := filepath.Join(dir, tt.name+".bin")
		imgRunOK(t, append(append(append([]string{"image", "sign"}, tt.extra...), imgVectorArgs...), imgVector("app.bin"), out)...)
		got := imgRunOK(t, append(append([]string{"image", "verify"}, tt.verify...), out)...)
		if !strings.Contains(got, tt.want) {
			t.Errorf("%d %s: verify output lacks %q:\n%s", i, tt.name, tt.want, got)
		}
	}
	// A --clear image is already plaintext: decrypt says so instead of writing garbage.
	code, _, stderr := imgRun(t, "image", "decrypt", "-k", imgVector("x25519-enc.pem"), filepath.Join(dir, "clear.bin"), filepath.Join(dir, "x.bin"))
	if code != 1 || !strings.Contains(stderr, "already in plaintext") {
		t.Errorf("decrypt --clear image: exit %d, %s", code, stderr)
	}
}

func TestImageHex(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app := imgReadFile(t, imgVector("app.bin"))
	const base = 0x08000200
	in, err := ihex.Encode(ihex.Segment{Addr: base, Data: app})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.hex"), in, 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"image", "sign", "-k", imgVector("ed25519.pem"), "--confirm"}, imgVectorArgs...)
	imgRunOK(t, append(args, filepath.Join(dir, "app.hex"), filepath.Join(dir, "signed.hex"))...)
	imgRunOK(t, append(args[:len(args):len(args)], filepath.Join(dir, "app.hex"), filepath.Join(dir, "signed.bin"))...)

	f, err := ihex.Parse(imgReadFile(t, filepath.Join(dir, "signed.hex")))
	if err != nil {
		t.Fatal(err)
	}
	start, slot, err := f.Binary(0xff, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if start != base-0x200 || len(slot) != 0x40000 {
		t.Fatalf("hex output covers %#x+%#x, want %#x+0x40000", start, len(slot), base-0x200)
	}
	if !bytes.Equal(slot, imgReadFile(t, filepath.Join(dir, "signed.bin"))) {
		t.Error("hex output and binary output differ")
	}
	img, err := mcuimg.Parse(slot)
	if err != nil {
		t.Fatal(err)
	}
	if img.Trailer == nil || !img.Trailer.ImageOKSet() {
		t.Errorf("trailer = %+v, want confirmed", img.Trailer)
	}
	unpadded := imgReadFile(t, imgVector("app-ed25519.signed.bin"))
	if !bytes.Equal(img.Bytes(), unpadded) {
		t.Error("image in the hex output differs from imgtool's binary image")
	}
	imgRunOK(t, "image", "verify", "-k", imgVector("ed25519-pub.pem"), filepath.Join(dir, "signed.hex"))

	// A binary input has no address: a .hex output needs --hex-addr.
	code, _, stderr := imgRun(t, append(args[:len(args):len(args)], imgVector("app.bin"), filepath.Join(dir, "x.hex"))...)
	if code != 2 || !strings.Contains(stderr, "--hex-addr") {
		t.Errorf("bin → hex without --hex-addr: exit %d, %s", code, stderr)
	}
	imgRunOK(t, append(args[:len(args):len(args)], "-x", "0x08000000", imgVector("app.bin"), filepath.Join(dir, "x.hex"))...)
}
