package station

import (
	"context"
	"encoding/hex"
	"fmt"

	"trustforge/crypto/bundle"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/production"
	"trustforge/devices/fwupdate"
	"trustforge/devices/provision"
	"trustforge/devices/smp"
	"trustforge/internal/usererr"
)

// flash writes the package's image to a provisioned board and checks that
// it boots: a board running an application gets the image in its
// secondary slot (encrypted to the board's own key in ImageDevice mode),
// boots it once and confirms it; a blank board in serial recovery gets it
// in its primary slot, in the clear as MCUboot keeps that slot, and is
// reset.
func (r *run) flash(ctx context.Context, prov *provision.Result) error {
	s, m := r.s, r.s.Package.Manifest
	clear := s.Package.Contents.Image
	img, err := mcuimg.Parse(clear)
	if err != nil {
		return err
	}
	_, hash, ok := img.Hash()
	if !ok {
		return usererr.New("station", "the package's image has no hash")
	}
	var recovery bool
	var data []byte
	if err := r.step("prepare", func() (string, error) {
		slots, err := r.c.ImageState(ctx)
		if err != nil {
			return "", usererr.Errorf("station", "reading the board's slots: %w", err)
		}
		recovery = !anyActive(slots)
		if r.res.Record != nil {
			if run, ok := (&fwupdate.Summary{Slots: slots}).Running(m.Release.Component); ok {
				r.res.Record.Board.FromVersion, r.res.Record.Board.FromSHA256 = run.Version, hex.EncodeToString(run.Hash)
			}
		}
		switch {
		case recovery:
			data = clear
			return "blank board in serial recovery: the image goes to its primary slot, in the clear", nil
		case m.ImageMode == production.ImageDevice:
			if prov == nil || prov.EncryptionKey == nil {
				return "", usererr.New("station", "the board has no image encryption key to encrypt its copy to")
			}
			if data, err = img.EncryptFor(s.rand(), prov.EncryptionKey); err != nil {
				return "", err
			}
			return "the image is encrypted to this board's key " + prov.EncryptionKey.Fingerprint(), nil
		default:
			data = clear
			return "the image goes in the clear (factory programming)", nil
		}
	}); err != nil {
		return err
	}
	if err := r.step("upload", func() (string, error) {
		res, err := fwupdate.Upload(ctx, r.c, data, m.Release.Component, nil)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d bytes written", res.Size), nil
	}); err != nil {
		return err
	}
	if err := r.step("boot", func() (string, error) {
		if recovery {
			err := fwupdate.Reset(ctx, r.c, s.BootTimeout, anyActive)
			return "the board restarted from its primary slot", err
		}
		if err := fwupdate.TestBoot(ctx, r.c, hash); err != nil {
			return "", err
		}
		err := fwupdate.Reset(ctx, r.c, s.BootTimeout, fwupdate.NothingPending)
		return "the board restarted with the new image for one boot", err
	}); err != nil {
		return err
	}
	if err := r.step("running", func() (string, error) {
		run, err := fwupdate.CheckRunning(ctx, r.c, m.Release.Component, hash)
		if err != nil {
			return "", err
		}
		want, err := bundle.ParseVersion(m.Release.Version)
		if err != nil {
			return "", err
		}
		got, err := fwupdate.ParseBoardVersion(run.Version)
		if err != nil || fwupdate.CompareVersions(got, want) != 0 {
			return "", usererr.Errorf("", "%w: it reports version %s, the package's is %s", fwupdate.ErrNotBooted, run.Version, m.Release.Version)
		}
		return "the board runs " + run.Version, nil
	}); err != nil {
		return err
	}
	return r.step("confirm", func() (string, error) {
		if _, err := fwupdate.Confirm(ctx, r.c, m.Release.Component); err != nil {
			return "", err
		}
		return m.Release.Version + " is confirmed: it stays after resets", nil
	})
}

// anyActive reports whether the board runs an image: false for a blank
// board, or one in serial recovery.
func anyActive(slots []smp.SlotImage) bool {
	for _, s := range slots {
		if s.Active {
			return true
		}
	}
	return false
}
