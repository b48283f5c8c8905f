package fwupdate

import (
	"fmt"
	"slices"
	"strings"

	"trustforge/crypto/bundle"
	"trustforge/internal/usererr"
)

// Reasons a release is refused for a board. Check returns a *Refusal
// wrapping one of them.
var (
	// ErrDowngrade: the board runs a newer version than the release.
	ErrDowngrade = usererr.New("fwupdate", "the release is older than what the board runs")
	// ErrSameVersion: the board already runs the release's version.
	ErrSameVersion = usererr.New("fwupdate", "the board already runs this version")
	// ErrWrongHardware: the release is for other hardware.
	ErrWrongHardware = usererr.New("fwupdate", "the release is for other hardware")
	// ErrUnknownHardware: the release names its hardware and the board
	// does not say what it is.
	ErrUnknownHardware = usererr.New("fwupdate", "the board does not say what hardware it is")
	// ErrNoRunningImage: the board runs no image for the release's
	// component (it is in serial recovery, or has no such image).
	ErrNoRunningImage = usererr.New("fwupdate", "the board runs no image for this release's component")
	// ErrPending: the board's upload slot holds an image waiting for a
	// reset, or one it must keep to revert to.
	ErrPending = usererr.New("fwupdate", "the board has an update in progress")
)

// Refusal is a release refused for a board, with the reason in words a
// technician can act on.
type Refusal struct {
	Err    error  // one of the ErrX reasons
	Reason string // for people
}

func (r *Refusal) Error() string { return "fwupdate: " + r.UserMessage() }

// UserMessage says that the update was refused and why, for people.
func (r *Refusal) UserMessage() string { return "refused: " + r.Reason }

// Unwrap returns the reason.
func (r *Refusal) Unwrap() error { return r.Err }

// CheckOptions relax Check. The zero value refuses everything it can.
type CheckOptions struct {
	// AllowSameVersion lets a release of the version the board runs go on
	// again (to repair a board, say).
	AllowSameVersion bool
	// AllowRecovery lets a release go on a board that runs no image (in
	// serial recovery): it is uploaded into the primary slot.
	AllowRecovery bool
}

// Check decides whether the release m may be flashed on the board s: the
// board must be one of the release's hardware (when it names any), run an
// image for the release's component, older than the release, and have no
// other update in progress. It returns nil or a *Refusal.
func Check(m *bundle.Manifest, s *Summary, opts CheckOptions) error {
	refuse := func(err error, format string, args ...any) error {
		return &Refusal{Err: err, Reason: fmt.Sprintf(format, args...)}
	}
	if len(m.Hardware) > 0 {
		if s.Hardware == "" {
			return refuse(ErrUnknownHardware, "release %s is only for %s, and the board does not report its hardware",
				m.Version, hardwareList(m.Hardware))
		}
		if !slices.Contains(m.Hardware, s.Hardware) {
			return refuse(ErrWrongHardware, "release %s is for %s, but this board is %s",
				m.Version, hardwareList(m.Hardware), s.Hardware)
		}
	}
	running, ok := s.Running(m.Component)
	if !ok {
		if opts.AllowRecovery {
			return nil
		}
		return refuse(ErrNoRunningImage, "the board runs no image %d: it may be in serial recovery", m.Component)
	}
	cur, err := ParseBoardVersion(running.Version)
	if err != nil {
		return refuse(ErrNoRunningImage, "the board reports version %q, which cannot be compared", running.Version)
	}
	switch c := CompareVersions(m.Version, cur); {
	case c < 0:
		return refuse(ErrDowngrade, "the board runs %s, newer than release %s: downgrades are not allowed", cur, m.Version)
	case c == 0 && !opts.AllowSameVersion:
		return refuse(ErrSameVersion, "the board already runs %s", cur)
	}
	if other, ok := s.Slot(m.Component, 1-running.Slot); ok && (other.Pending || running.Slot == 0 && !running.Confirmed) {
		what := "an image waiting to be tested at the next reset"
		if !other.Pending {
			what = "a test image that is neither confirmed nor reverted"
		}
		return refuse(ErrPending, "the board has %s (version %s): confirm it or reset the board first", what, other.Version)
	}
	return nil
}

func hardwareList(hw []string) string {
	if len(hw) == 1 {
		return hw[0]
	}
	return strings.Join(hw[:len(hw)-1], ", ") + " or " + hw[len(hw)-1]
}
