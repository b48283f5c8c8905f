package cli

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"trustforge/crypto/espimg"
)

// espVerbs lists `trustforge esp` verbs: file tools whose options follow
// espsecure's, and board tools over the ROM loader.
func espVerbs() []command {
	return []command{
		{"keygen", "make a Secure Boot v2 signing key, as espsecure generate_signing_key --version 2", runESPKeygen},
		{"sign", "append Secure Boot v2 signatures, as espsecure sign_data --version 2", runESPSign},
		{"verify", "check an image's Secure Boot v2 signature, as espsecure verify_signature --version 2", runESPVerify},
		{"digest", "write a key's eFuse digest, as espsecure digest_sbv2_public_key", runESPDigest},
		{"pubkey", "write a key's public half (PEM), as espsecure extract_public_key --version 2", runESPPubkey},
		{"encrypt", "encrypt flash data with XTS-AES, as espsecure encrypt_flash_data --aes_xts", runESPEncrypt},
		{"decrypt", "decrypt flash data with XTS-AES, as espsecure decrypt_flash_data --aes_xts", runESPDecrypt},
		{"image-info", "print an app image's header, segments, checksum, app description and signatures", runESPImageInfo},
		{"release", "make a signed, encrypted flash-set release (.tfb) from manifest.json, flash_args or ADDR FILE pairs", runESPRelease},
		{"info", "detect the chip on --port: family, revision, MAC, flash, security state", runESPInfo},
		{"flash", "write images at offsets through the ROM loader and verify them", runESPFlash},
		{"read-efuse", "print the chip's eFuse summary", runESPReadEfuse},
		{"burn-key", "burn a Secure Boot digest or flash encryption key into a free key block (irreversible)", runESPBurnKey},
		{"enable-secure-boot", "burn SECURE_BOOT_EN (irreversible)", runESPEnableSecureBoot},
		{"enable-flash-encryption", "burn SPI_BOOT_CRYPT_CNT on (irreversible)", runESPEnableFlashEncryption},
	}
}

// runESP dispatches `trustforge esp <verb>`.
func runESP(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(env.Stderr, "usage: trustforge esp <verb> [options] [args]")
		for _, v := range espVerbs() {
			fmt.Fprintf(env.Stderr, "  %-24s %s\n", v.name, v.summary)
		}
		if len(args) == 0 {
			return usageErrorf("missing verb")
		}
		return nil
	}
	for _, v := range espVerbs() {
		if v.name == args[0] {
			return v.run(ctx, env, args[1:])
		}
	}
	return usageErrorf("unknown verb %q (see -h)", args[0])
}

var espVersionOpt = optSpec{long: "version", short: "v", kind: optValue, metavar: "2", help: "Secure Boot version; only 2"}

func checkSBVersion(o *optSet) error {
	if o.has("version") && o.str("version") != "2" {
		return usageErrorf("--version %s: only Secure Boot v2 is supported", o.str("version"))
	}
	return nil
}

func runESPKeygen(ctx context.Context, env Env, args []string) error {
	specs := []optSpec{espVersionOpt,
		{long: "scheme", kind: optValue, metavar: "SCHEME", help: "rsa3072 (default) or ecdsa256"}}
	o, err := parseOpts(env, "esp keygen [--scheme rsa3072|ecdsa256] KEY.pem", specs, args)
	if err != nil {
		return err
	}
	pos, err := o.positionals(1, "the key file to write")
	if err != nil {
		return err
	}
	if err := checkSBVersion(o); err != nil {
		return err
	}
	scheme := espimg.RSA3072
	if o.has("scheme") {
		if scheme, err = espimg.ParseScheme(o.str("scheme")); err != nil {
			return usageErrorf("--scheme: %v", err)
		}
	}
	k, err := espimg.GenerateKey(rand.Reader, scheme)
	if err != nil {
		return err
	}
	pemBytes, err := espimg.MarshalPrivateKey(k)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(pos[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists; a key is never overwritten", pos[0])
		}
		return err
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s signing key written to %s\n", scheme, pos[0])
	return nil
}

// readSigners reads each --keyfile as a private key.
func readESPKeys(o *optSet) ([]any, error) {
	var out []any
	for _, path := range o.list("keyfile") {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if k, err := espimg.ParsePrivateKey(b); err == nil {
			out = append(out, k)
			continue
		}
		pub, err := espimg.ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, pub)
	}
	if len(out) == 0 {
		return nil, usageErrorf("missing required option --keyfile")
	}
	return out, nil
}

var espKeyfileOpt = optSpec{long: "keyfile", short: "k", kind: optValue, multi: true, metavar: "KEY.pem", help: "signing key (PEM); repeat for up to three"}
var espOutputOpt = optSpec{long: "output", short: "o", kind: optValue, metavar: "FILE", help: "file to write"}

func runESPSign(ctx context.Context, env Env, args []string) error {
	specs := []optSpec{espVersionOpt, espKeyfileOpt, espOutputOpt,
		{long: "append_signatures", short: "a", kind: optBool, help: "accepted: a signed input always gets the new signatures appended"}}
	o, err := parseOpts(env, "esp sign --keyfile KEY.pem [--keyfile KEY2.pem …] -o OUT IN", specs, args)
	if err != nil {
		return err
	}
	pos, err := o.positionals(1, "the image to sign")
	if err != nil {
		return err
	}
	if err := checkSBVersion(o); err != nil {
		return err
	}
	out, err := o.require("output")
	if err != nil {
		return err
	}
	ks, err := readESPKeys(o)
	if err != nil {
		return err
	}
	var signers []crypto.Signer
	for i, k := range ks {
		s, ok := k.(crypto.Signer)
		if !ok {
			return fmt.Errorf("--keyfile %s is a public key; signing needs the private key", o.list("keyfile")[i])
		}
		signers = append(signers, s)
	}
	in, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	signed, err := espimg.Sign(rand.Reader, in, signers...)
	if err != nil {
		return err
	}
	if err := writeOutput(out, 0o644, func(w io.Writer) error { _, err := w.Write(signed); return err }); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "signed %s with %d key(s): %d bytes written to %s\n", pos[0], len(signers), len(signed), out)
	return nil
}

func runESPVerify(ctx context.Context, env Env, args []string) error {
	specs := []optSpec{espVersionOpt, espKeyfileOpt}
	o, err := parseOpts(env, "esp verify --keyfile KEY.pem IN", specs, args)
	if err != nil {
		return err
	}
	pos, err := o.positionals(1, "the signed image")
	if err != nil {
		return err
	}
	if err := checkSBVersion(o); err != nil {
		return err
	}
	ks, err := readESPKeys(o)
	if err != nil {
		return err
	}
	in, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	var pubs []any
	for _, k := range ks {
		if s, ok := k.(crypto.Signer); ok {
			pubs = append(pubs, s.Public())
		} else {
			pubs = append(pubs, k)
		}
	}
	blk, err := espimg.Verify(in, espimg.VerifyOptions{Keys: pubs})
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	d := blk.KeyDigest()
	fmt.Fprintf(env.Stdout, "%s: valid %s signature (key digest %x)\n", pos[0], blk.Scheme, d)
	return nil
}

func runESPDigest(ctx context.Context, env Env, args []string) error {
	specs := []optSpec{espKeyfileOpt, espOutputOpt}
	o, err := parseOpts(env, "esp digest --keyfile KEY.pem -o DIGEST.bin", specs, args)
	if err != nil {
		return err
	}
	if _, err := o.positionals(0, "no arguments"); err != nil {
		return err
	}
	ks, err := readESPKeys(o)
	if err != nil {
		return err
	}
	if len(ks) != 1 {
		return usageErrorf("digest takes one --keyfile")
	}
	pub := ks[0]
	if s, ok := pub.(crypto.Signer); ok {
		pub = s.Public()
	}
	d, err := espimg.KeyDigest(pub)
	if err != nil {
		return err
	}
	if !o.has("output") {
		fmt.Fprintln(env.Stdout, hex.EncodeToString(d[:]))
		return nil
	}
	return writeOutput(o.str("output"), 0o644, func(w io.Writer) error { _, err := w.Write(d[:]); return err })
}

func runESPPubkey(ctx context.Context, env Env, args []string) error {
	specs := []optSpec{espVersionOpt, espKeyfileOpt}
	o, err := parseOpts(env, "esp pubkey --keyfile KEY.pem PUB.pem", specs, args)
	if err != nil {
		return err
	}
	pos, err := o.positionals(1, "the public key file to write")
	if err != nil {
		return err
	}
	ks, err := readESPKeys(o)
	if err != nil {
		return err
	}
	pub := ks[0]
	if s, ok := pub.(crypto.Signer); ok {
		pub = s.Public()
	}
	b, err := espimg.MarshalPublicKey(pub)
	if err != nil {
		return err
	}
	return writeOutput(pos[0], 0o644, func(w io.Writer) error { _, err := w.Write(b); return err })
}

func runESPEncrypt(ctx context.Context, env Env, args []string) error { return espXTS(env, args, true) }
func runESPDecrypt(ctx context.Context, env Env, args []string) error {
	return espXTS(env, args, false)
}

func espXTS(env Env, args []string, encrypt bool) error {
	verb := "encrypt"
	if !encrypt {
		verb = "decrypt"
	}
	specs := []optSpec{
		{long: "keyfile", short: "k", kind: optValue, metavar: "KEY.bin", help: "the raw flash encryption key (32 bytes for XTS-AES-128, 64 for XTS-AES-256)"},
		{long: "address", short: "a", kind: optValue, metavar: "ADDR", help: "flash address the data is written at (multiple of 16)"},
		espOutputOpt,
		{long: "aes_xts", short: "x", kind: optBool, help: "accepted: XTS-AES is the only algorithm (ESP32-S2, -S3, -C3 and later)"},
	}
	o, err := parseOpts(env, "esp "+verb+" --keyfile KEY.bin --address ADDR -o OUT IN", specs, args)
	if err != nil {
		return err
	}
	pos, err := o.positionals(1, "the input file")
	if err != nil {
		return err
	}
	keyPath, err := o.require("keyfile")
	if err != nil {
		return err
	}
	if _, err := o.require("address"); err != nil {
		return err
	}
	addr, err := o.integer("address", 0, 1<<32-1)
	if err != nil {
		return err
	}
	out, err := o.require("output")
	if err != nil {
		return err
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	in, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	f := espimg.EncryptFlash
	if !encrypt {
		f = espimg.DecryptFlash
	}
	res, err := f(key, uint32(addr), in)
	if err != nil {
		return err
	}
	return writeOutput(out, 0o644, func(w io.Writer) error { _, err := w.Write(res); return err })
}

func runESPImageInfo(ctx context.Context, env Env, args []string) error {
	o, err := parseOpts(env, "esp image-info IN", nil, args)
	if err != nil {
		return err
	}
	pos, err := o.positionals(1, "the image")
	if err != nil {
		return err
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	img, err := espimg.Parse(b)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	w := env.Stdout
	h := img.Header
	fmt.Fprintf(w, "chip          %v (id %d), revisions %v to %v\n", h.Chip, uint16(h.Chip), h.MinRev, revString(h.MaxRev))
	fmt.Fprintf(w, "entry         %#08x\n", h.Entry)
	fmt.Fprintf(w, "flash         mode %d, %d MB, frequency code %d\n", h.SPIMode, h.FlashBytes()>>20, h.FlashFreq)
	for i, s := range img.Segments {
		fmt.Fprintf(w, "segment %-2d    %#08x  %7d bytes  (file offset %#x)\n", i, s.Addr, len(s.Data), s.Offset)
	}
	fmt.Fprintf(w, "checksum      %#02x (valid)\n", img.Checksum)
	if img.Hash != nil {
		fmt.Fprintf(w, "sha256        %x (valid)\n", img.Hash)
	}
	if d, ok := img.AppDescription(); ok {
		fmt.Fprintf(w, "app           %s %s (ESP-IDF %s), secure version %d\n", d.ProjectName, d.Version, d.IDFVersion, d.SecureVersion)
	}
	if img.Signature == nil {
		fmt.Fprintln(w, "signatures    none")
		return nil
	}
	blocks, err := espimg.Signatures(b[:img.SignedLen+espimg.SectorSize])
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	for i, blk := range blocks {
		fmt.Fprintf(w, "signature %d   %s, key digest %x\n", i, blk.Scheme, blk.KeyDigest())
	}
	return nil
}

func revString(r espimg.Revision) string {
	if r == 0 || r == 0xFFFF {
		return "any"
	}
	return r.String()
}
