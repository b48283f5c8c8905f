package fwupdate

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"trustforge/internal/usererr"
)

// Outcome is how an update ended.
type Outcome string

// Outcomes.
const (
	// Updated: the board runs the release, confirmed.
	Updated Outcome = "updated"
	// Refused: a check refused the release before anything was written.
	Refused Outcome = "refused"
	// Failed: a step failed; the board keeps (or went back to) its image.
	Failed Outcome = "failed"
	// Cancelled: the technician stopped the update.
	Cancelled Outcome = "cancelled"
)

// Valid reports whether o is one of the outcomes.
func (o Outcome) Valid() bool {
	return o == Updated || o == Refused || o == Failed || o == Cancelled
}

// Step is one step of an update, as the record keeps it.
type Step struct {
	Name    string    `json:"name"`
	Started time.Time `json:"started"`
	// Millis is how long the step took, in milliseconds.
	Millis int64 `json:"ms"`
	OK     bool  `json:"ok"`
	// Detail says what the step found or why it failed.
	Detail string `json:"detail,omitempty"`
}

// Record is the report of one update of one board: kept in the browser,
// saved by the technician, and sent to the release server's audit log when
// the network allows. It holds no secret and no firmware.
type Record struct {
	// ID names the record; it makes sending it again harmless to spot.
	ID       string    `json:"id"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Technician is the account that ran the update.
	Technician string `json:"technician"`

	Product   string `json:"product"`
	Component int    `json:"component"`
	Channel   string `json:"channel"`
	// Release is the release server's ID of the release (the SHA-256 of
	// its signed manifest).
	Release string `json:"release"`
	Version string `json:"version"`
	// ImageSHA256 is the image's SHA256 TLV, the hash the board lists.
	ImageSHA256 string `json:"image_sha256"`

	// Board describes the board as it was before the update.
	Board BoardInfo `json:"board"`

	Outcome Outcome `json:"outcome"`
	// Reason says why an update was refused or failed.
	Reason string `json:"reason,omitempty"`
	Steps  []Step `json:"steps"`
}

// BoardInfo is what a record keeps of a board.
type BoardInfo struct {
	Node     string `json:"node,omitempty"`
	Hardware string `json:"hardware,omitempty"`
	// Transport is how the console reached it: "serial", "usb" or
	// "simulated" (SMP), "usb-dfu" (a Zephyr DFU slot), "usb-dfuse" (an
	// STM32 bootloader) or "serial-esp32" (an ESP32's ROM loader).
	Transport string `json:"transport,omitempty"`
	// FromVersion and FromSHA256 describe the image it ran.
	FromVersion string `json:"from_version,omitempty"`
	FromSHA256  string `json:"from_sha256,omitempty"`
}

// NewRecord starts a record with a fresh random ID. A nil rand means
// crypto/rand.
func NewRecord(rnd io.Reader, now time.Time) (*Record, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var id [16]byte
	if _, err := io.ReadFull(rnd, id[:]); err != nil {
		return nil, usererr.Errorf("fwupdate", "record id: %w", err)
	}
	return &Record{ID: hex.EncodeToString(id[:]), Started: now.UTC(), Steps: []Step{}}, nil
}

// Step records a finished step.
func (r *Record) Step(name string, started, now time.Time, err error, detail string) {
	s := Step{Name: name, Started: started.UTC(), Millis: now.Sub(started).Milliseconds(), OK: err == nil, Detail: detail}
	if err != nil && detail == "" {
		s.Detail = err.Error()
	}
	r.Steps = append(r.Steps, s)
}

// Finish ends the record with an outcome and, unless it is Updated, the
// reason.
func (r *Record) Finish(o Outcome, reason string, now time.Time) {
	r.Outcome, r.Reason, r.Finished = o, reason, now.UTC()
}

// Limits of a record, which the release server enforces.
const (
	MaxSteps     = 64
	MaxFieldLen  = 256
	MaxDetailLen = 2048
)

// ErrInvalidRecord is returned by Validate.
var ErrInvalidRecord = usererr.New("fwupdate", "invalid record")

// Validate checks that r is well formed and within the limits: a 32-digit
// hex ID, a valid outcome, times in order, bounded UTF-8 text.
func (r *Record) Validate() error {
	bad := func(format string, args ...any) error {
		return usererr.Errorf("", "%w: %s", ErrInvalidRecord, fmt.Sprintf(format, args...))
	}
	if len(r.ID) != 32 {
		return bad("id must be 32 hex digits")
	}
	if _, err := hex.DecodeString(r.ID); err != nil {
		return bad("id must be 32 hex digits")
	}
	if !r.Outcome.Valid() {
		return bad("outcome %q is not updated, refused, failed or cancelled", r.Outcome)
	}
	if r.Started.IsZero() || r.Finished.Before(r.Started) {
		return bad("finished must not be before started")
	}
	if r.Component < 0 || r.Component > 255 {
		return bad("component %d", r.Component)
	}
	fields := map[string]string{
		"technician": r.Technician, "product": r.Product, "channel": r.Channel, "release": r.Release,
		"version": r.Version, "image_sha256": r.ImageSHA256, "board.node": r.Board.Node,
		"board.hardware": r.Board.Hardware, "board.transport": r.Board.Transport,
		"board.from_version": r.Board.FromVersion, "board.from_sha256": r.Board.FromSHA256,
	}
	for name, v := range fields {
		if len(v) > MaxFieldLen || !utf8.ValidString(v) {
			return bad("%s: at most %d bytes of UTF-8", name, MaxFieldLen)
		}
	}
	if len(r.Reason) > MaxDetailLen || !utf8.ValidString(r.Reason) {
		return bad("reason: at most %d bytes of UTF-8", MaxDetailLen)
	}
	if len(r.Steps) > MaxSteps {
		return bad("more than %d steps", MaxSteps)
	}
	for i, s := range r.Steps {
		if s.Name == "" || len(s.Name) > MaxFieldLen || !utf8.ValidString(s.Name) {
			return bad("step %d: name", i)
		}
		if len(s.Detail) > MaxDetailLen || !utf8.ValidString(s.Detail) {
			return bad("step %d: detail longer than %d bytes", i, MaxDetailLen)
		}
		if s.Millis < 0 {
			return bad("step %d: negative duration", i)
		}
	}
	return nil
}

// Text formats the record as a plain-text report, for a technician to save
// or print.
func (r *Record) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "trustforge update report %s\n\n", r.ID)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-13s %s\n", k+":", v)
		}
	}
	row("Outcome", string(r.Outcome))
	row("Reason", r.Reason)
	row("Technician", r.Technician)
	row("Started", r.Started.Format(time.RFC3339))
	row("Finished", r.Finished.Format(time.RFC3339))
	row("Product", r.Product)
	row("Channel", r.Channel)
	row("Release", r.Release)
	row("Version", r.Version)
	row("Image SHA256", r.ImageSHA256)
	row("Board", r.Board.Node)
	row("Hardware", r.Board.Hardware)
	row("Connection", r.Board.Transport)
	row("Was running", strings.TrimSpace(r.Board.FromVersion+" "+r.Board.FromSHA256))
	b.WriteString("\nSteps:\n")
	for _, s := range r.Steps {
		mark := "ok  "
		if !s.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "  %s %-22s %7.1fs  %s\n", mark, s.Name, float64(s.Millis)/1000, s.Detail)
	}
	return b.String()
}
