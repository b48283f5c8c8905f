package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"trustforge/crypto/bundle"
	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
)

const espReleaseSynopsis = "esp release -k SIGNKEY.pem (-r RECIPIENT... | --passphrase) --product P --channel C [--version V] " +
	"(--manifest manifest.json | --flash-args flash_args | ADDR FILE...) [--encrypt NAME...] -o OUT.tfb"

// runESPRelease makes a flash-set release bundle from an ESP Web Tools
// manifest.json, an ESP-IDF flash_args file or offset/file pairs.
func runESPRelease(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "esp release", espReleaseSynopsis)
	keyPath := fs.String("k", "", "release-signing private key (PKCS#8 PEM, ECDSA P-256 or Ed25519)")
	var recipients, hardware, encrypt stringList
	fs.Var(&recipients, "r", "age recipient (age1…) or a file of recipients; repeatable")
	passphrase := fs.Bool("passphrase", false, "encrypt to a passphrase instead of recipients")
	passphraseFile := fs.String("passphrase-file", "", "read the passphrase from the first line of `FILE`")
	product := fs.String("product", "", "product name")
	channel := fs.String("channel", "", "release channel")
	version := fs.String("version", "", "release version; default: the app's esp_app_desc version when it is a semantic version")
	chipName := fs.String("chip", "esp32c3", "chip the flash set is for")
	manifest := fs.String("manifest", "", "ESP Web Tools `manifest.json` to import")
	flashArgs := fs.String("flash-args", "", "ESP-IDF `flash_args` file to import")
	fs.Var(&encrypt, "encrypt", "mark the part with this name (bootloader, partition-table, app, or a file name) for flash encryption; repeatable; \"all\" for every part")
	fs.Var(&hardware, "hardware", "compatible board or hardware revision; repeatable")
	notes := fs.String("notes", "", "release notes")
	out := fs.String("o", "", "output bundle (.tfb)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *keyPath == "" || *out == "" || *product == "" || *channel == "":
		return usageErrorf("-k, -o, --product and --channel are required")
	case len(recipients) == 0 && !*passphrase && *passphraseFile == "":
		return usageErrorf("say who can open the bundle: -r RECIPIENT or --passphrase")
	case (*manifest != "") && (*flashArgs != "") || (*manifest != "" || *flashArgs != "") && len(pos) > 0:
		return usageErrorf("give one of --manifest, --flash-args or ADDR FILE pairs")
	case *manifest == "" && *flashArgs == "" && (len(pos) == 0 || len(pos)%2 != 0):
		return usageErrorf("give --manifest, --flash-args or ADDR FILE pairs")
	}
	chip, err := espimg.ParseChip(*chipName)
	if err != nil {
		return usageErrorf("--chip: %v", err)
	}
	var files []espimg.FlashFile
	dir := "."
	switch {
	case *manifest != "":
		b, err := os.ReadFile(*manifest)
		if err != nil {
			return err
		}
		build, err := espimg.ParseWebToolsManifest(b, chip)
		if err != nil {
			return err
		}
		files, dir = build.Files, filepath.Dir(*manifest)
		if *version == "" && build.Version != "" {
			if _, err := bundle.ParseVersion(build.Version); err == nil {
				*version = build.Version
			}
		}
	case *flashArgs != "":
		b, err := os.ReadFile(*flashArgs)
		if err != nil {
			return err
		}
		if files, err = espimg.ParseFlashArgs(b); err != nil {
			return err
		}
		dir = filepath.Dir(*flashArgs)
	default:
		for i := 0; i < len(pos); i += 2 {
			off, err := parseInteger(pos[i], 1<<32-1)
			if err != nil {
				return usageErrorf("address %q: %v", pos[i], err)
			}
			files = append(files, espimg.FlashFile{Offset: uint32(off), Path: pos[i+1]})
		}
	}
	signer, err := readSigningKey(*keyPath)
	if err != nil {
		return err
	}
	var to bundle.Recipients
	if to.Keys, err = parseRecipientArgs(recipients); err != nil {
		return err
	}
	if *passphrase || *passphraseFile != "" {
		if to.Passphrase, err = getPassphrase(*passphraseFile, true); err != nil {
			return err
		}
	}
	m := bundle.Manifest{Product: *product, Channel: *channel, Hardware: hardware, Notes: *notes,
		ImageFormat: bundle.ImageFormatESPFlashSet}
	var content bytes.Buffer
	appVersion := ""
	for _, f := range files {
		p := f.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, filepath.FromSlash(p))
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		name := partName(f, data)
		if len(data) > 0 && data[0] == espimg.Magic {
			img, err := espimg.Parse(data)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if img.Header.Chip != chip {
				return fmt.Errorf("%s: %w: built for %v, the release is for %v", p, espimg.ErrWrongChip, img.Header.Chip, chip)
			}
			if d, ok := img.AppDescription(); ok && appVersion == "" {
				appVersion = d.Version
			}
		}
		enc := f.Encrypt
		for _, e := range encrypt {
			if e == "all" || e == name || e == filepath.Base(f.Path) {
				enc = true
			}
		}
		m.Parts = append(m.Parts, bundle.Part{Name: name, Offset: f.Offset, Size: int64(len(data)), Encrypt: enc})
		content.Write(data)
	}
	if *version == "" {
		*version = strings.TrimPrefix(appVersion, "v")
	}
	v, err := bundle.ParseVersion(*version)
	if err != nil {
		return usageErrorf("--version: %v (the app's description says %q)", err, appVersion)
	}
	m.Version = v
	var s *bundle.Signed
	err = writeOutput(*out, 0o644, func(w io.Writer) error {
		var err error
		s, err = bundle.Create(ctx, w, bytes.NewReader(content.Bytes()), m, bundle.CreateOptions{Key: signer, To: to})
		return err
	})
	if err != nil {
		return err
	}
	full, err := s.Verify(signer.Public())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: %s %s (%s), ESP flash set of %d parts, %d bytes, signed by %s key %s\n",
		*out, full.Product, full.Version, full.Channel, len(full.Parts), full.Image.Size, s.Algorithm(), s.KeyID())
	for _, p := range full.Parts {
		enc := ""
		if p.Encrypt {
			enc = " (flash encryption)"
		}
		fmt.Fprintf(env.Stdout, "  %#08x %-16s %7d bytes%s\n", p.Offset, p.Name, p.Size, enc)
	}
	return nil
}

// partName names a part by what it is where that is clear.
func partName(f espimg.FlashFile, data []byte) string {
	switch {
	case f.Offset == espimg.PartitionTableOffset:
		return "partition-table"
	case f.Offset < espimg.PartitionTableOffset && len(data) > 0 && data[0] == espimg.Magic:
		return "bootloader"
	}
	if len(data) > 0 && data[0] == espimg.Magic {
		if img, err := espimg.Parse(data); err == nil {
			if _, ok := img.AppDescription(); ok {
				return "app"
			}
		}
	}
	base := strings.TrimSuffix(filepath.Base(f.Path), filepath.Ext(f.Path))
	var b strings.Builder
	for _, c := range base {
		if c < 0x80 && (c == '.' || c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	name := strings.TrimLeft(b.String(), "._-")
	if name == "" {
		name = fmt.Sprintf("part-%x", f.Offset)
	}
	return name
}

// releaseParts opens a flash-set bundle and returns its parts, encrypted
// for the board where the release says so.
func releaseParts(ctx context.Context, path string, trusted, identities []string, feKey []byte, romEncrypt bool) ([]esprom.Part, *bundle.Manifest, error) {
	tk, err := readTrustedKeys(trusted)
	if err != nil {
		return nil, nil, err
	}
	ids, err := readIdentities(identities)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var plain bytes.Buffer
	m, err := bundle.Open(ctx, &plain, f, bundle.OpenOptions{Trusted: tk, Identities: ids})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if !m.IsFlashSet() {
		return nil, nil, fmt.Errorf("%s is an MCUboot release; flash it with trustforge device", path)
	}
	var parts []esprom.Part
	data := plain.Bytes()
	for _, p := range m.Parts {
		b := data[:p.Size]
		data = data[p.Size:]
		part := esprom.Part{Name: p.Name, Offset: p.Offset, Data: b}
		if p.Encrypt {
			switch {
			case feKey != nil:
				padded := append([]byte(nil), b...)
				for len(padded)%16 != 0 {
					padded = append(padded, 0xFF)
				}
				ct, err := espimg.EncryptFlash(feKey, p.Offset, padded)
				if err != nil {
					return nil, nil, err
				}
				part.Data = ct
			case romEncrypt:
				part.Encrypt = true
			default:
				return nil, nil, fmt.Errorf("part %q is marked for flash encryption: give --fe-key KEY.bin or --rom-encrypt", p.Name)
			}
		}
		parts = append(parts, part)
	}
	return parts, m, nil
}
