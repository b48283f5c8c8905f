package updateflow

import (
	"context"
	"fmt"

	"trustforge/crypto/bundle"
	"trustforge/crypto/mcuimg"
	"trustforge/devices/fwupdate"
	"trustforge/internal/usererr"
)

// Kind is how one kind of board is updated: an MCUboot board over SMP
// (SMP), a Zephyr board with the USB DFU class (DFUSlot), an STM32's DfuSe
// bootloader (DfuSe) or an ESP32's ROM loader (ESP). The Runner verifies
// the release the same way for every kind, then asks the kind to check it
// against the board and to run the steps that change the board. Its
// methods do board I/O and are called one at a time.
type Kind interface {
	// Steps lists the steps after the check that the kind runs, in
	// order: StepUpload always, and of StepTestBoot, StepRunning and
	// StepConfirm those the board has. A step left out shows as skipped
	// in an updated board's report.
	Steps() []Step
	// Check reads what the board runs and checks the release against it:
	// nothing is written. A refusal is a *fwupdate.Refusal.
	Check(ctx context.Context, v *Verified) (Found, error)
	// Write puts the release on the board, reporting StepUpload events
	// through emit, and says what it did.
	Write(ctx context.Context, v *Verified, emit func(Event)) (string, error)
	// Boot starts the new image (StepTestBoot), Running checks that the
	// board runs it (StepRunning), Confirm makes it stay (StepConfirm).
	// Each is only called when Steps lists its step.
	Boot(ctx context.Context, v *Verified) (string, error)
	Running(ctx context.Context, v *Verified) (string, error)
	Confirm(ctx context.Context, v *Verified) (string, error)
}

// Found is what a Kind's Check learned about the board, for the record.
type Found struct {
	// Summary is the board's SMP summary, when it has one.
	Summary *fwupdate.Summary
	// Node and Hardware name the board (a node name, an ESP32's MAC; a
	// board target, a chip).
	Node, Hardware string
	// FromVersion and FromSHA256 are what it ran before, when known.
	FromVersion, FromSHA256 string
	// Detail says what the check found, for people.
	Detail string
}

// ErrWrongFormat reports a release whose payload this kind of board cannot
// take: an ESP32 flash set for an MCUboot board, or an MCUboot image for an
// ESP32's ROM loader. It comes wrapped in a *fwupdate.Refusal.
var ErrWrongFormat = usererr.New("updateflow", "the release is not for this kind of board")

// wrongFormat refuses m on a board of the kind named what when its image
// format is not want.
func wrongFormat(m *bundle.Manifest, flashSet bool, what string) error {
	if m.IsFlashSet() == flashSet {
		return nil
	}
	got := "an MCUboot image"
	if m.IsFlashSet() {
		got = "an ESP32 flash set"
	}
	return &fwupdate.Refusal{Err: ErrWrongFormat,
		Reason: fmt.Sprintf("release %s is %s, which cannot go on %s", m.Version, got, what)}
}

// hasStep reports whether k runs s.
func hasStep(k Kind, s Step) bool {
	for _, t := range k.Steps() {
		if t == s {
			return true
		}
	}
	return false
}

// versionIs checks a version a board reports against the release's.
func versionIs(reported string, want bundle.Version) error {
	got, err := fwupdate.ParseBoardVersion(reported)
	if err != nil || fwupdate.CompareVersions(got, want) != 0 {
		return usererr.Errorf("", "%w: it reports version %s, the release is %s", fwupdate.ErrNotBooted, reported, want)
	}
	return nil
}

// smpVersion writes an MCUboot header's version as SMP's image list does.
func smpVersion(v mcuimg.Version) string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Revision)
	if v.Build != 0 {
		s += fmt.Sprintf(".%d", v.Build)
	}
	return s
}
