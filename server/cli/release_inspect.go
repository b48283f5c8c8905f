package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"trustforge/crypto/bundle"
)

const releaseInspectSynopsis = "release inspect [-k PUBKEY.pem]... [--json] BUNDLE.tfb|MANIFEST"

// inspectReport is what `release inspect` found; --json prints it as is.
type inspectReport struct {
	File      string `json:"file"`
	Signature struct {
		Algorithm string `json:"algorithm"`
		KeyID     string `json:"key_id"`
		// Trusted reports that the signer is one of the -k keys; without
		// -k only the signature's integrity is checked.
		Trusted bool `json:"trusted"`
	} `json:"signature"`
	ManifestDigest bundle.Digest `json:"manifest_digest"`
	// Payload is "verified" when the bundle's payload matches the manifest,
	// or "absent" for a manifest part on its own.
	Payload  string           `json:"payload"`
	Manifest *bundle.Manifest `json:"manifest"`
}

func runReleaseInspect(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "release inspect", releaseInspectSynopsis)
	var trustedPaths stringList
	fs.Var(&trustedPaths, "k", "trusted release-signing public key (PEM or DER); repeatable. Without -k, the signature is checked against the key the bundle carries, which proves integrity, not origin")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("want one BUNDLE.tfb, got %d arguments", len(pos))
	}
	trusted, err := readTrustedKeys(trustedPaths)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)

	rep := inspectReport{File: pos[0]}
	var s *bundle.Signed
	whole := false
	// A manifest part on its own is a tagged COSE_Sign1 (d2 84); anything
	// else is read as a bundle.
	if start, _ := r.Peek(2); bytes.Equal(start, []byte{0xd2, 0x84}) {
		var b []byte
		b, err = io.ReadAll(io.LimitReader(r, bundle.MaxSignedSize+1))
		if err == nil {
			s, err = bundle.ParseSigned(b)
		}
	} else {
		whole = true
		s, err = bundle.ReadHeader(r)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	var m *bundle.Manifest
	if len(trusted) > 0 {
		m, err = s.Verify(trusted...)
		rep.Signature.Trusted = err == nil
	} else {
		m, err = s.VerifyIntegrity()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	rep.Signature.Algorithm, rep.Signature.KeyID = s.Algorithm(), s.KeyID()
	rep.ManifestDigest, rep.Manifest = s.ManifestDigest(), m
	rep.Payload = "absent"
	if whole {
		if _, err := io.Copy(io.Discard, bundle.NewPayloadReader(readerCtx{ctx, r}, m)); err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		rep.Payload = "verified"
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(env.Stdout, &rep)
	}
	if !rep.Signature.Trusted {
		fmt.Fprintf(env.Stderr, "trustforge release inspect: the signer %s was not checked against a trusted key (pass -k PUBKEY.pem)\n", s.KeyID())
	}
	return nil
}

func printReport(w io.Writer, rep *inspectReport) {
	m := rep.Manifest
	trust := "integrity only, signer not checked (no -k)"
	if rep.Signature.Trusted {
		trust = "trusted"
	}
	hw := strings.Join(m.Hardware, ", ")
	if hw == "" {
		hw = "any"
	}
	fmt.Fprintf(w, "bundle:           %s\n", rep.File)
	fmt.Fprintf(w, "signature:        %s by key %s (%s)\n", rep.Signature.Algorithm, rep.Signature.KeyID, trust)
	fmt.Fprintf(w, "manifest digest:  %s\n", rep.ManifestDigest)
	fmt.Fprintf(w, "product:          %s\n", m.Product)
	fmt.Fprintf(w, "component:        %d\n", m.Component)
	fmt.Fprintf(w, "version:          %s\n", m.Version)
	fmt.Fprintf(w, "security counter: %d\n", m.SecurityCounter)
	fmt.Fprintf(w, "channel:          %s\n", m.Channel)
	fmt.Fprintf(w, "hardware:         %s\n", hw)
	fmt.Fprintf(w, "created:          %s\n", m.Created.Format("2006-01-02T15:04:05Z07:00"))
	fmt.Fprintf(w, "image:            %d bytes, SHA256 TLV %s\n", m.Image.Size, m.Image.SHA256)
	fmt.Fprintf(w, "payload:          %d bytes, SHA-256 %s (%s)\n", m.Payload.Size, m.Payload.SHA256, rep.Payload)
	if m.Passphrase {
		fmt.Fprintf(w, "opens with:       a passphrase\n")
	}
	for i, r := range m.Recipients {
		label := ""
		if i == 0 {
			label = "opens with:"
		}
		fmt.Fprintf(w, "%-18s%s\n", label, r)
	}
	if m.Notes != "" {
		fmt.Fprintf(w, "notes:\n")
		for _, line := range strings.Split(strings.TrimRight(m.Notes, "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
}

// readerCtx stops reading when ctx is done.
type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
