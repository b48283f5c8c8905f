package cli

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
)

const releaseCreateSynopsis = "release create -k SIGNKEY.pem (-r RECIPIENT... | --passphrase) --product P --channel C [--version V] IMAGE -o OUT.tfb"

func runReleaseCreate(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "release create", releaseCreateSynopsis)
	keyPath := fs.String("k", "", "release-signing private key (PKCS#8 PEM, ECDSA P-256 or Ed25519, as imgtool keygen makes)")
	var recipients, hardware stringList
	fs.Var(&recipients, "r", "age recipient (age1…) or a file of recipients, one per line; repeatable")
	passphrase := fs.Bool("passphrase", false, "encrypt to a passphrase instead of recipients (from the terminal, $"+passphraseEnv+" or --passphrase-file)")
	passphraseFile := fs.String("passphrase-file", "", "read the passphrase from the first line of `FILE`")
	workFactor := fs.Int("scrypt-work-factor", 0, "log2 of the passphrase's scrypt cost (0: age's default, 18)")
	product := fs.String("product", "", "product name")
	channel := fs.String("channel", "", "release channel, e.g. stable or beta")
	version := fs.String("version", "", "release version (semantic version); default: the image header's; must match it")
	component := fs.Int("component", 0, "MCUboot image index the release is for")
	secCounter := fs.String("security-counter", "", "security counter; default: the image's SEC_CNT TLV, else 0")
	fs.Var(&hardware, "hardware", "compatible board or hardware revision; repeatable")
	notes := fs.String("notes", "", "release notes")
	notesFile := fs.String("notes-file", "", "read the release notes from `FILE`")
	out := fs.String("o", "", "output bundle (.tfb)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usageErrorf("want one IMAGE, got %d arguments", len(pos))
	case *keyPath == "":
		return usageErrorf("-k SIGNKEY.pem is required")
	case *out == "":
		return usageErrorf("-o OUT.tfb is required")
	case *product == "" || *channel == "":
		return usageErrorf("--product and --channel are required")
	case len(recipients) == 0 && !*passphrase && *passphraseFile == "":
		return usageErrorf("say who can open the bundle: -r RECIPIENT or --passphrase")
	case len(recipients) > 0 && (*passphrase || *passphraseFile != ""):
		return usageErrorf("age allows a passphrase only alone: give -r or --passphrase, not both")
	case *notes != "" && *notesFile != "":
		return usageErrorf("give --notes or --notes-file, not both")
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
		to.WorkFactor = *workFactor
	}

	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	m := bundle.Manifest{
		Product:   *product,
		Channel:   *channel,
		Component: *component,
		Hardware:  hardware,
		Notes:     *notes,
	}
	if *notesFile != "" {
		b, err := os.ReadFile(*notesFile)
		if err != nil {
			return err
		}
		m.Notes = string(b)
	}
	if err := describeImage(&m, data, *version, *secCounter); err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}

	scratch, err := os.CreateTemp("", "trustforge-payload-*")
	if err != nil {
		return err
	}
	defer os.Remove(scratch.Name())
	defer scratch.Close()
	var s *bundle.Signed
	err = writeOutput(*out, 0o644, func(w io.Writer) error {
		var err error
		s, err = bundle.Create(ctx, w, bytes.NewReader(data), m, bundle.CreateOptions{
			Key: signer, To: to, Scratch: scratch,
		})
		return err
	})
	if err != nil {
		return err
	}
	full, err := s.Verify(signer.Public())
	if err != nil {
		return err
	}
	who := fmt.Sprintf("%d recipient(s)", len(full.Recipients))
	if full.Passphrase {
		who = "a passphrase"
	}
	fmt.Fprintf(env.Stdout, "%s: %s %s (%s), image %d bytes, signed by %s key %s, encrypted to %s\n",
		*out, full.Product, full.Version, full.Channel, full.Image.Size, s.Algorithm(), s.KeyID(), who)
	return nil
}

// readSigningKey reads a release-signing private key.
func readSigningKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := keys.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, err := k.Signer()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// parseRecipientArgs reads -r values: an age recipient, or a file of them.
func parseRecipientArgs(args []string) ([]bundle.Recipient, error) {
	var out []bundle.Recipient
	for _, a := range args {
		if strings.HasPrefix(a, "age1") {
			r, err := bundle.ParseRecipient(a)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
			continue
		}
		f, err := os.Open(a)
		if err != nil {
			return nil, fmt.Errorf("-r %s: neither an age recipient (age1…) nor a readable file: %w", a, err)
		}
		rs, err := bundle.ParseRecipients(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// describeImage checks that data is a valid MCUboot image and fills in what
// the manifest says of it: its SHA256 TLV and size, its version (checked
// against the --version given) and its security counter.
func describeImage(m *bundle.Manifest, data []byte, version, secCounter string) error {
	img, err := mcuimg.Parse(data)
	if err != nil {
		return fmt.Errorf("not a valid MCUboot image: %w", err)
	}
	// The hash of an image encrypted to the device covers its plaintext,
	// which only the device can check.
	if _, err := img.Verify(mcuimg.VerifyOptions{}); err != nil && !(img.Encrypted() && errors.Is(err, mcuimg.ErrEncrypted)) {
		return fmt.Errorf("not a valid MCUboot image: %w", err)
	}
	typ, hash, ok := img.Hash()
	if !ok {
		return mcuimg.ErrNoHash
	}
	if typ != mcuimg.TLVSHA256 {
		return fmt.Errorf("the image's hash TLV is %v; release bundles record a SHA256 TLV", typ)
	}
	m.Image = bundle.ImageInfo{Size: int64(len(data))}
	copy(m.Image.SHA256[:], hash)

	hv := img.Version()
	if version == "" {
		m.Version = bundle.Version{Major: uint64(hv.Major), Minor: uint64(hv.Minor), Patch: uint64(hv.Revision)}
		if hv.Build != 0 {
			m.Version.Build = strconv.FormatUint(uint64(hv.Build), 10)
		}
	} else {
		v, err := bundle.ParseVersion(version)
		if err != nil {
			return usageErrorf("--version: %v", err)
		}
		if v.Major != uint64(hv.Major) || v.Minor != uint64(hv.Minor) || v.Patch != uint64(hv.Revision) {
			return fmt.Errorf("--version %s does not match the image header's %s", v, hv)
		}
		if v.Build != "" {
			if n, err := strconv.ParseUint(v.Build, 10, 32); err != nil || n != uint64(hv.Build) {
				return fmt.Errorf("--version %s: build %q does not match the image header's %d", v, v.Build, hv.Build)
			}
		}
		m.Version = v
	}

	cnt, hasCnt, err := img.SecurityCounter()
	if err != nil {
		return err
	}
	switch {
	case secCounter != "":
		n, err := strconv.ParseUint(secCounter, 0, 32)
		if err != nil {
			return usageErrorf("--security-counter %q: want a number from 0 to %d", secCounter, uint32(1<<32-1))
		}
		if hasCnt && uint32(n) != cnt {
			return fmt.Errorf("--security-counter %d differs from the image's SEC_CNT TLV %d", n, cnt)
		}
		m.SecurityCounter = uint32(n)
	case hasCnt:
		m.SecurityCounter = cnt
	}
	return nil
}
