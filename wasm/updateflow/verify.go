package updateflow

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"trustforge/crypto/bundle"
	"trustforge/devices/fwupdate"
	"trustforge/internal/usererr"
	"trustforge/wasm/release"
)

// ErrRejected wraps every reason the verify step refuses a bundle for: a
// bad signature, an untrusted signer, a payload or image that does not
// match the manifest, a server record that disagrees with it.
var ErrRejected = usererr.New("updateflow", "the release does not verify")

// Verify starts the record and verifies src: the signed manifest against
// the product's keys (and the server's record, when there is one), the
// payload's size and SHA-256, and, once decrypted, the image's. A bundle
// that fails any check is refused: the record's outcome is Refused.
func (r *Runner) Verify(ctx context.Context, src Source) (*Verified, error) {
	rec, err := fwupdate.NewRecord(r.Rand, r.now())
	if err != nil {
		return nil, err
	}
	rec.Technician, rec.Board.Transport = r.Technician, r.Transport
	r.record, r.summary = rec, nil
	var v *Verified
	err = r.step(StepVerify, func() (string, error) {
		var err error
		v, err = r.verify(ctx, src)
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			claimed(rec, src.Bundle)
			return "", &fwupdate.Refusal{Err: usererr.Errorf("", "%w: %w", ErrRejected, err), Reason: rejection(err)}
		}
		rec.Product, rec.Component, rec.Channel = v.Manifest.Product, v.Manifest.Component, v.Manifest.Channel
		rec.Release, rec.Version = v.ReleaseID, v.Manifest.Version.String()
		rec.ImageSHA256 = hex.EncodeToString(v.Hash)
		return fmt.Sprintf("%s %s signed by %s…; payload and image hashes match", v.Manifest.Product, v.Manifest.Version, v.Signer[:12]), nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// claimed fills the record of a refused bundle with what its manifest
// claims, when it can be read, so the report says what was refused. The
// release ID is left out: it would name a release that was not verified.
func claimed(rec *fwupdate.Record, tfb []byte) {
	s, err := bundle.ReadHeader(bytes.NewReader(tfb))
	if err != nil {
		return
	}
	m, err := s.VerifyIntegrity()
	if err != nil {
		return
	}
	rec.Product, rec.Component, rec.Channel, rec.Version = m.Product, m.Component, m.Channel, m.Version.String()
}

// rejection says in words why a bundle was refused.
func rejection(err error) string {
	switch {
	case errors.Is(err, bundle.ErrUntrustedKey):
		return "the release is not signed by any of the product's keys: it was not made by your team, do not use it"
	case errors.Is(err, bundle.ErrBadSignature):
		return "the release's signature does not verify: it was changed after it was signed, do not use it"
	case errors.Is(err, bundle.ErrPayloadMismatch):
		return "the encrypted firmware does not match its signed manifest: the file was changed or damaged, do not use it"
	case errors.Is(err, bundle.ErrImageMismatch), errors.Is(err, bundle.ErrNotImage):
		return "the decrypted firmware does not match its signed manifest: do not use it"
	case errors.Is(err, release.ErrMismatch):
		return "the server's record of the release differs from its signed manifest: do not use it"
	case errors.Is(err, bundle.ErrNoIdentity):
		return "none of the age identities in your vault can open this release: ask for it to be published to you"
	case errors.Is(err, bundle.ErrMalformed), errors.Is(err, bundle.ErrUnsupported), errors.Is(err, bundle.ErrTooLarge):
		return "the release's signed manifest is damaged or was changed (" + usererr.Message(err) + "): do not use it"
	case errors.Is(err, bundle.ErrNotBundle), errors.Is(err, bundle.ErrTruncated):
		return "the file is not a complete trustforge release bundle (" + usererr.Message(err) + ")"
	}
	return usererr.Message(err)
}

func (r *Runner) verify(ctx context.Context, src Source) (*Verified, error) {
	return Open(ctx, src, func(p release.Progress) { r.emit(Event{Step: StepVerify, Progress: &p}) }, r.Yield)
}

// Open verifies src (see Runner.Verify) and decrypts it, outside any
// update: what the Devices page does before uploading a release.
// progress, when not nil, reports the decryption.
func Open(ctx context.Context, src Source, progress func(release.Progress), yield release.Yield) (*Verified, error) {
	rd := bytes.NewReader(src.Bundle)
	s, err := bundle.ReadHeader(rd)
	if err != nil {
		return nil, err
	}
	payload := src.Bundle[len(src.Bundle)-rd.Len():]
	trusted := release.TrustedKeys(src.Keys)
	if len(trusted) == 0 {
		return nil, usererr.Errorf("", "%w: no signing key of the product is known to this browser", bundle.ErrUntrustedKey)
	}
	var checked release.Checked
	if src.Release != nil {
		checked = release.Verify(*src.Release, s.Bytes(), trusted)
	} else {
		m, err := s.Verify(trusted...)
		checked = release.Checked{Manifest: m, Signer: s.KeyID(), Err: err}
	}
	if checked.Err != nil {
		return nil, checked.Err
	}
	m := checked.Manifest
	pv := bundle.NewPayloadVerifier(m)
	pv.Write(payload)
	if err := pv.Check(); err != nil {
		return nil, err
	}
	img, err := release.Open(ctx, checked, payload, src.Identities, progress, yield)
	if err != nil {
		return nil, err
	}
	id := s.ManifestDigest().String()
	return &Verified{Manifest: m, ReleaseID: id, Signer: checked.Signer, Image: img, Hash: m.Image.SHA256[:]}, nil
}
