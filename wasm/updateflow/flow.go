// Package updateflow is the field technician's update of one board, kept
// out of the UI: verify a release bundle in the browser (manifest signature
// against the product's keys, payload and image hashes), decrypt it with
// the technician's age identities, check it against the board (no
// downgrade, no image for other hardware), then flash, test-boot, check the
// new version runs and confirm it, keeping a fwupdate.Record of every step.
//
// The board is of one Kind: an MCUboot board over SMP (the default), a
// Zephyr board with the USB DFU class (DFUSlot), an STM32's DfuSe
// bootloader (DfuSe) or an ESP32 through its ROM loader (ESP, for
// flash-set releases). Each kind checks the release against the board
// before anything is written and runs the steps it has; the others show as
// skipped.
//
// A Runner drives the steps and reports each as it starts and ends, so the
// console shows one screen per step. An upload cut by an unplugged board
// waits for the board to come back and resumes from the board's offset.
// Nothing here touches the network: the bundle comes from the release cache
// or a file, so the whole flow runs offline.
package updateflow

import (
	"context"
	"errors"
	"io"
	"time"
	"trustforge/internal/usererr"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/devices/fwupdate"
	"trustforge/devices/smp"
	"trustforge/wasm/client"
	"trustforge/wasm/release"
)

// Step names a step of the flow.
type Step string

// The steps, in order.
const (
	StepVerify   Step = "verify"    // signature, payload and image hashes; decryption
	StepCheck    Step = "check"     // the board's version and hardware against the manifest
	StepUpload   Step = "upload"    // the image into the board's upload slot
	StepTestBoot Step = "test boot" // mark it for one boot, reset, wait for the board
	StepRunning  Step = "check version"
	StepConfirm  Step = "confirm"
)

// Steps lists the steps in order.
func Steps() []Step {
	return []Step{StepVerify, StepCheck, StepUpload, StepTestBoot, StepRunning, StepConfirm}
}

// Board is the board being updated: the console's link.
type Board interface {
	// Client returns the connected board's client.
	Client() (*smp.Client, error)
	// Next waits until the board is connected through a client other
	// than old, as after a replug, and fails when it will not come back on
	// its own.
	Next(ctx context.Context, old *smp.Client) (*smp.Client, error)
}

// Event reports progress of the flow.
type Event struct {
	Step Step
	// Done is set when the step ended; Err then says whether it failed.
	Done bool
	Err  error
	// Detail says what the step found, for people.
	Detail string
	// Upload reports the upload's progress (StepUpload).
	Upload *smp.UploadProgress
	// Unplugged is set while the upload waits for the board to come back.
	Unplugged bool
	// Progress reports decryption (StepVerify).
	Progress *release.Progress
}

// Source is the release to put on the board.
type Source struct {
	// Bundle is the .tfb file.
	Bundle []byte
	// Release is the server's record when the bundle came from the server
	// (the release cache); nil for a file. It must agree with the signed
	// manifest.
	Release *client.Release
	// Keys are the product's registered signing keys; revoked ones are
	// not trusted.
	Keys []client.Key
	// Identities open the payload (the vault's age identities).
	Identities []age.Identity
}

// Verified is a release that verified and decrypted.
type Verified struct {
	Manifest *bundle.Manifest
	// ReleaseID is the release's ID (the SHA-256 of its signed manifest).
	ReleaseID string
	// Signer is the fingerprint of the key that signed the manifest.
	Signer string
	// Image is the decrypted payload: an MCUboot image, or a flash set's
	// parts back to back (Manifest.Parts). Hash is the image's SHA256 TLV,
	// or the SHA-256 of the whole flash set.
	Image []byte
	Hash  []byte
}

// Runner runs the flow for one board and keeps its record.
type Runner struct {
	// Board is the board to update when it is an MCUboot board over SMP
	// (Kind nil).
	Board Board
	// Kind is the board's kind; nil means an MCUboot board over SMP
	// through Board.
	Kind Kind
	// Transport names how the board is reached, for the record
	// ("serial", "usb", "simulated").
	Transport string
	// Technician is the signed-in account, for the record.
	Technician string
	// OnEvent, when set, receives the flow's progress. It must not block.
	OnEvent func(Event)
	// Yield lets the browser run during decryption; nil in tests.
	Yield release.Yield
	// BootTimeout bounds the wait for the board after a reset; zero means
	// fwupdate.DefaultBootTimeout.
	BootTimeout time.Duration
	// Now and Rand are the clock and the source of the record's ID; nil
	// means time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader

	record  *fwupdate.Record
	summary *fwupdate.Summary
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) emit(e Event) {
	if r.OnEvent != nil {
		r.OnEvent(e)
	}
}

// Record returns the flow's record so far (nil before Verify).
func (r *Runner) Record() *fwupdate.Record { return r.record }

// Summary returns what the board said of itself at the check (nil before).
func (r *Runner) Summary() *fwupdate.Summary { return r.summary }

// step runs one step, records it and reports it.
func (r *Runner) step(s Step, f func() (string, error)) error {
	start := r.now()
	r.emit(Event{Step: s})
	detail, err := f()
	r.record.Step(string(s), start, r.now(), err, detail)
	if err != nil && detail == "" {
		detail = usererr.Message(err)
	}
	r.emit(Event{Step: s, Done: true, Err: err, Detail: detail})
	return err
}

// Finish ends the record: updated when err is nil, otherwise refused,
// cancelled or failed with err's reason. A Kind that holds the board's
// port (ESP) lets go of it.
func (r *Runner) Finish(err error) *fwupdate.Record {
	if c, ok := r.Kind.(interface{ Close() error }); ok {
		c.Close() // the kind's hold on the board's port
	}
	if r.record == nil {
		return nil
	}
	var ref *fwupdate.Refusal
	switch {
	case err == nil:
		r.record.Finish(fwupdate.Updated, "", r.now())
	case errors.Is(err, context.Canceled):
		r.record.Finish(fwupdate.Cancelled, "cancelled by the technician", r.now())
	case errors.As(err, &ref):
		r.record.Finish(fwupdate.Refused, ref.Reason, r.now())
	default:
		r.record.Finish(fwupdate.Failed, truncate(err.Error(), fwupdate.MaxDetailLen), r.now())
	}
	return r.record
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// kind returns the board's kind: Kind, or an MCUboot board over SMP
// through Board.
func (r *Runner) kind() Kind {
	if r.Kind != nil {
		return r.Kind
	}
	return &SMP{Board: r.Board, BootTimeout: r.BootTimeout}
}

// Check reads what the board runs and checks the release against it: for
// an MCUboot board the hardware, the version (no downgrade, not the same),
// an update already in progress; each Kind says what it checks. A refusal
// leaves the board untouched.
func (r *Runner) Check(ctx context.Context, v *Verified) error {
	return r.step(StepCheck, func() (string, error) {
		f, err := r.kind().Check(ctx, v)
		r.summary = f.Summary
		rec := r.record
		rec.Board.Node, rec.Board.Hardware = f.Node, f.Hardware
		rec.Board.FromVersion, rec.Board.FromSHA256 = f.FromVersion, f.FromSHA256
		if err != nil {
			return "", err
		}
		return f.Detail, nil
	})
}

// Flash writes the release, boots it, checks that the board runs it and
// makes it stay, as far as the board's kind has those steps. A write cut
// by an unplug waits for the board and resumes (from the board's offset
// over SMP) or starts again.
func (r *Runner) Flash(ctx context.Context, v *Verified) error {
	k := r.kind()
	steps := []struct {
		s Step
		f func(context.Context, *Verified) (string, error)
	}{
		{StepUpload, func(ctx context.Context, v *Verified) (string, error) { return k.Write(ctx, v, r.emit) }},
		{StepTestBoot, k.Boot},
		{StepRunning, k.Running},
		{StepConfirm, k.Confirm},
	}
	for _, st := range steps {
		if st.s != StepUpload && !hasStep(k, st.s) {
			continue
		}
		if err := r.step(st.s, func() (string, error) { return st.f(ctx, v) }); err != nil {
			return err
		}
	}
	return nil
}
