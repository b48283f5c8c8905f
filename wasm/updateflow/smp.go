package updateflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"trustforge/devices/fwupdate"
)

// SMP is an MCUboot board reached over SMP (mcumgr) through a serial port,
// a WebUSB bulk interface or the simulated board: the image goes into the
// upload slot (resuming from the board's offset after an unplug), is
// test-booted, checked and confirmed.
type SMP struct {
	// Board is the console's link to the board. Required.
	Board Board
	// BootTimeout bounds the wait for the board after a reset; zero means
	// fwupdate.DefaultBootTimeout.
	BootTimeout time.Duration
}

var _ Kind = (*SMP)(nil)

// Steps are all of them.
func (k *SMP) Steps() []Step { return []Step{StepUpload, StepTestBoot, StepRunning, StepConfirm} }

// Check reads the board's summary and checks the release against it: the
// hardware, the version (no downgrade, not the same), an update already in
// progress.
func (k *SMP) Check(ctx context.Context, v *Verified) (Found, error) {
	var f Found
	if err := wrongFormat(v.Manifest, false, "an MCUboot board"); err != nil {
		return f, err
	}
	c, err := k.Board.Client()
	if err != nil {
		return f, err
	}
	s, err := fwupdate.ReadSummary(ctx, c)
	if err != nil {
		return f, err
	}
	f.Summary, f.Node, f.Hardware = s, s.Node, s.Hardware
	if run, ok := s.Running(v.Manifest.Component); ok {
		f.FromVersion, f.FromSHA256 = run.Version, hex.EncodeToString(run.Hash)
	}
	if err := fwupdate.Check(v.Manifest, s, fwupdate.CheckOptions{}); err != nil {
		return f, err
	}
	hw := s.Hardware
	if hw == "" {
		hw = "any hardware"
	}
	f.Detail = fmt.Sprintf("the board (%s) runs %s; release %s is newer and made for it", hw, f.FromVersion, v.Manifest.Version)
	return f, nil
}

// Write uploads the image into the upload slot; an upload cut by an unplug
// waits for the board and resumes from its offset.
func (k *SMP) Write(ctx context.Context, v *Verified, emit func(Event)) (string, error) {
	start := time.Now()
	res, resumed, err := Upload(ctx, k.Board, v.Image, v.Manifest.Component, emit)
	if err != nil {
		return "", err
	}
	detail := fmt.Sprintf("%d bytes in %.1f s", len(v.Image), time.Since(start).Seconds())
	if resumed > 0 {
		detail += fmt.Sprintf(", resumed %d time(s) from the board's offset", resumed)
	}
	if res.Checked {
		sum := sha256.Sum256(v.Image)
		detail += "; the board checked its SHA-256 " + hex.EncodeToString(sum[:6]) + "…"
	}
	return detail, nil
}

// Boot marks the image for one boot and resets the board.
func (k *SMP) Boot(ctx context.Context, v *Verified) (string, error) {
	c, err := k.Board.Client()
	if err != nil {
		return "", err
	}
	if err := fwupdate.TestBoot(ctx, c, v.Hash); err != nil {
		return "", err
	}
	if err := fwupdate.Reset(ctx, c, k.BootTimeout, fwupdate.NothingPending); err != nil {
		return "", err
	}
	return "the board restarted with the new image for one boot", nil
}

// Running checks that the board runs the new image at the release's
// version.
func (k *SMP) Running(ctx context.Context, v *Verified) (string, error) {
	c, err := k.Board.Client()
	if err != nil {
		return "", err
	}
	run, err := fwupdate.CheckRunning(ctx, c, v.Manifest.Component, v.Hash)
	if err != nil {
		return "", err
	}
	if err := versionIs(run.Version, v.Manifest.Version); err != nil {
		return "", err
	}
	return "the board runs " + run.Version, nil
}

// Confirm makes the running image stay.
func (k *SMP) Confirm(ctx context.Context, v *Verified) (string, error) {
	c, err := k.Board.Client()
	if err != nil {
		return "", err
	}
	if _, err := fwupdate.Confirm(ctx, c, v.Manifest.Component); err != nil {
		return "", err
	}
	return v.Manifest.Version.String() + " is confirmed: it stays after resets", nil
}
