package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"trustforge/crypto/mcuimg"
)

// runImageVerify implements `trustforge image verify`: exit 0 only when the
// hash (and, with keys, a signature) holds.
func runImageVerify(ctx context.Context, env Env, args []string) error {
	specs := []optSpec{
		{long: "key", short: "k", kind: optValue, multi: true, metavar: "FILE", help: "trusted signing key (public or private PEM/DER); repeat for several. Without: hash only"},
		{long: "decrypt-key", kind: optValue, metavar: "FILE", help: "device encryption key, to check an encrypted image's plaintext hash"},
	}
	o, err := parseOpts(env, "image verify [-k KEY]... [--decrypt-key ENCKEY] IMG", specs, args)
	if err != nil {
		return err
	}
	pos, err := o.positionals(1, "IMG")
	if err != nil {
		return err
	}
	var vo mcuimg.VerifyOptions
	for _, path := range o.list("key") {
		k, err := loadPublicKey(path)
		if err != nil {
			return err
		}
		vo.Keys = append(vo.Keys, k)
	}
	if path := o.str("decrypt-key"); path != "" {
		if vo.DecryptionKey, err = loadPrivateKey(path); err != nil {
			return err
		}
	}
	img, err := parseImage(pos[0])
	if err != nil {
		return err
	}
	v, err := img.Verify(vo)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	fmt.Fprintln(env.Stdout, "Image was correctly validated")
	fmt.Fprintf(env.Stdout, "Image version: %s\n", img.Version())
	fmt.Fprintf(env.Stdout, "Image digest: %s\n", hex.EncodeToString(v.Hash))
	switch {
	case v.Key != nil:
		how := ""
		if v.Pure {
			how = ", pure"
		}
		fmt.Fprintf(env.Stdout, "Signed by: %s (%s%s)\n", v.Key, v.Signature.Name(), how)
	default:
		fmt.Fprintln(env.Stdout, "Signature: not checked (no key given)")
	}
	if v.Decrypted {
		fmt.Fprintln(env.Stdout, "Payload: decrypted for the check")
	} else if img.Encrypted() {
		fmt.Fprintln(env.Stdout, "Payload: marked encrypted, stored in plaintext (--clear)")
	}
	return nil
}

// runImageInfo implements `trustforge image info`, imgtool dumpinfo's counterpart.
func runImageInfo(ctx context.Context, env Env, args []string) error {
	specs := []optSpec{
		{long: "json", kind: optBool, help: "print JSON with imgtool dumpinfo's field names"},
	}
	o, err := parseOpts(env, "image info [--json] IMG", specs, args)
	if err != nil {
		return err
	}
	pos, err := o.positionals(1, "IMG")
	if err != nil {
		return err
	}
	img, err := parseImage(pos[0])
	if err != nil {
		return err
	}
	info := img.Info(filepath.Base(pos[0]))
	if o.flag("json") {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	writeInfoText(env.Stdout, img, info)
	return nil
}

func writeInfoText(w io.Writer, img *mcuimg.Image, info *mcuimg.Info) {
	h := info.Header
	fmt.Fprintf(w, "Image: %s\n\n", info.Filename)
	fmt.Fprintln(w, "Header (offset 0x0)")
	fmt.Fprintf(w, "  magic:              %#x\n", h.Magic)
	fmt.Fprintf(w, "  load_addr:          %#x\n", h.LoadAddr)
	fmt.Fprintf(w, "  hdr_size:           %#x\n", h.HdrSize)
	fmt.Fprintf(w, "  protected_tlv_size: %#x\n", h.ProtectedTLVSize)
	fmt.Fprintf(w, "  img_size:           %#x\n", h.ImgSize)
	fmt.Fprintf(w, "  flags:              %v\n", img.Flags())
	fmt.Fprintf(w, "  version:            %s\n\n", h.Version)
	fmt.Fprintf(w, "Payload (offset %#x, %#x bytes)\n\n", h.HdrSize, h.ImgSize)
	if a := img.Protected; a != nil {
		fmt.Fprintf(w, "Protected TLV area (offset %#x, magic %#x, %#x bytes)\n", a.Offset, a.Magic, a.Total)
		writeTLVsText(w, info.TLVArea.Protected)
	}
	a := img.Unprotected
	fmt.Fprintf(w, "TLV area (offset %#x, magic %#x, %#x bytes)\n", a.Offset, a.Magic, a.Total)
	writeTLVsText(w, info.TLVArea.TLVs)
	if t := img.Trailer; t != nil {
		fmt.Fprintf(w, "Trailer (slot of %#x bytes, max alignment %d)\n", img.Size()+img.PadSize, t.MaxAlign)
		fmt.Fprintf(w, "  swap_size:  %#x\n", t.SwapSize)
		fmt.Fprintf(w, "  swap_info:  %s\n", flagText(t.SwapInfo))
		fmt.Fprintf(w, "  copy_done:  %s\n", flagText(t.CopyDone))
		fmt.Fprintf(w, "  image_ok:   %s\n", flagText(t.ImageOK))
		fmt.Fprintf(w, "  boot magic: %s\n", hex.EncodeToString(t.Magic[:]))
	} else if img.PadSize > 0 {
		fmt.Fprintf(w, "Padding: %#x erased bytes, no trailer\n", img.PadSize)
	}
}

func writeTLVsText(w io.Writer, tlvs []mcuimg.InfoTLV) {
	for _, t := range tlvs {
		fmt.Fprintf(w, "  %s (%#x), %d bytes at %#x", t.TypeName, t.Type, t.Len, t.Offset)
		if t.Decoded != "" {
			fmt.Fprintf(w, ": %s", t.Decoded)
		}
		fmt.Fprintln(w)
		for i := 0; i < len(t.Data); i += 64 {
			fmt.Fprintf(w, "    %s\n", t.Data[i:min(i+64, len(t.Data))])
		}
	}
	fmt.Fprintln(w)
}

func flagText(v uint8) string {
	switch v {
	case 0x01:
		return "SET (0x1)"
	case 0xff:
		return "unset (0xff)"
	}
	return fmt.Sprintf("%#x", v)
}

// runImageDecrypt implements `trustforge image decrypt`.
func runImageDecrypt(ctx context.Context, env Env, args []string) error {
	specs := []optSpec{
		{long: "key", short: "k", kind: optValue, metavar: "FILE", help: "device encryption private key (x25519 or ecdsa-p256 PEM)"},
		{long: "payload", kind: optBool, help: "write only the decrypted payload, not the whole image"},
	}
	o, err := parseOpts(env, "image decrypt -k ENCKEY.pem [--payload] IN OUT", specs, args)
	if err != nil {
		return err
	}
	pos, err := o.positionals(2, "IN and OUT")
	if err != nil {
		return err
	}
	path, err := o.require("key")
	if err != nil {
		return err
	}
	priv, err := loadPrivateKey(path)
	if err != nil {
		return err
	}
	if !priv.Algorithm().CanEncrypt() {
		return usageErrorf("--key %s: %s keys do not decrypt images (want x25519 or ecdsa-p256)", path, priv.Algorithm())
	}
	img, err := parseImage(pos[0])
	if err != nil {
		return err
	}
	if !img.Encrypted() {
		return fmt.Errorf("%s: %w", pos[0], mcuimg.ErrNotEncrypted)
	}
	// Check the plaintext against the image hash before writing anything:
	// a wrong key or a --clear image must not produce garbage silently.
	if _, err := img.Verify(mcuimg.VerifyOptions{DecryptionKey: priv}); err != nil {
		if errors.Is(err, mcuimg.ErrHashMismatch) {
			if _, clearErr := img.Verify(mcuimg.VerifyOptions{}); clearErr == nil {
				return fmt.Errorf("%s: the payload is already in plaintext (an image made with --clear)", pos[0])
			}
		}
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	err = writeOutput(pos[1], 0o644, func(w io.Writer) error {
		if o.flag("payload") {
			p, err := img.DecryptPayload(priv)
			if err != nil {
				return err
			}
			_, err = w.Write(p)
			return err
		}
		return img.DecryptTo(w, priv)
	})
	if err != nil {
		return err
	}
	what := "image"
	if o.flag("payload") {
		what = "payload"
	}
	fmt.Fprintf(env.Stdout, "%s: decrypted %s, version %s\n", pos[1], what, img.Version())
	return nil
}
