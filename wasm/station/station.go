package station

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/devices/fwupdate"
	"trustforge/devices/provision"
	"trustforge/devices/smp"
	"trustforge/internal/usererr"
	"trustforge/wasm/updateflow"
)

// Station programs boards under one opened production package. Its
// methods may be called from several goroutines, one board each.
type Station struct {
	// Package is the opened production package.
	Package *production.Package
	// TicketKey is the release server's ticket key: tickets that do not
	// verify under it are refused before anything is written.
	TicketKey crypto.PublicKey
	// Tickets hands out a ticket before each device. Required.
	Tickets Tickets
	// Registry records each provisioned board (the release server's
	// device registry, which checks its ticket). Nil provisions without a
	// registry.
	Registry provision.Registry
	// Records receives each board's record (the console sends it to the
	// audit log). Nil keeps records in the Results only.
	Records func(ctx context.Context, r *fwupdate.Record) error
	// Operator is the station's account, written into the records.
	Operator string
	// BootTimeout bounds the wait for a board to come back after a reset;
	// zero means fwupdate.DefaultBootTimeout.
	BootTimeout time.Duration
	// ReadOutProtection is set once the station's operator has confirmed
	// a package's request for STM32 read-out protection level 1, which
	// cannot be undone. While a package asks for it and this is false, the
	// station writes nothing to STM32 DfuSe boards; a package that does
	// not ask for it never sets it.
	ReadOutProtection bool
	// Rand is the source of certificate serials and image keys; nil means
	// crypto/rand.
	Rand io.Reader
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	counts Counts
}

// Counts are the station's tallies since it opened the package.
type Counts struct {
	// Done counts the boards provisioned, flashed and running the image.
	Done int `json:"done"`
	// Failed counts the boards a step failed on.
	Failed int `json:"failed"`
	// Refused counts the boards refused before anything was written.
	Refused int `json:"refused"`
	// Remaining is the number of devices the order still allows, as the
	// server last said; -1 before the first ticket.
	Remaining int `json:"remaining"`
}

// State is where a board's run ended.
type State string

// Board states.
const (
	Done    State = "done"
	Failed  State = "failed"
	Refused State = "refused"
)

// Step is one step of a board's run, as it starts (Running) and ends.
type Step struct {
	// Name is the step: "info", "ticket", a provisioning step
	// (provision.Step), "upload", "boot", "running", "confirm" or
	// "record".
	Name   string
	Status provision.Status
	Detail string
	Took   time.Duration
	// Done and Total are the bytes written so far and in all, while a USB
	// DFU board's upload runs.
	Done, Total int64
	// Unplugged is set while an upload waits for a board that went away.
	Unplugged bool
}

// Result is what happened to one board.
type Result struct {
	// Port names where the board was presented.
	Port string
	// DeviceID is the board's unique id (lowercase hex), once read.
	DeviceID string
	State    State
	// Reason says why the board was refused or failed.
	Reason string
	// Ticket is the board's verified ticket, once taken.
	Ticket *production.Ticket
	// Chain is the board's certificate chain, once installed.
	Chain pki.Chain
	// Steps are the steps' outcomes, in order.
	Steps []Step
	// Record is the record sent (or to send) to the audit log.
	Record *fwupdate.Record
	// Started and Finished bound the run.
	Started, Finished time.Time
}

// Counts returns the station's tallies.
func (s *Station) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// New returns a station for an opened package.
func New(p *production.Package, ticketKey crypto.PublicKey, t Tickets) *Station {
	return &Station{Package: p, TicketKey: ticketKey, Tickets: t, counts: Counts{Remaining: -1}}
}

func (s *Station) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Station) rand() io.Reader {
	if s.Rand == nil {
		return rand.Reader
	}
	return s.Rand
}

// run is one board's run.
type run struct {
	s      *Station
	c      *smp.Client
	res    *Result
	onStep func(Step)
}

func (r *run) step(name string, f func() (string, error)) error {
	if r.onStep != nil {
		r.onStep(Step{Name: name, Status: provision.Running})
	}
	start := r.s.now()
	detail, err := f()
	st := Step{Name: name, Status: provision.Done, Detail: detail, Took: r.s.now().Sub(start)}
	if err != nil {
		st.Status, st.Detail = provision.Failed, usererr.Message(err)
	}
	r.record(st, err)
	return err
}

// record adds a step that ended to the result and its record. err is why
// a failed step failed: people read its message in st.Detail, the record
// keeps its full text.
func (r *run) record(st Step, err error) {
	r.res.Steps = append(r.res.Steps, st)
	if r.res.Record != nil {
		started := r.s.now().Add(-st.Took)
		detail := st.Detail
		switch {
		case err != nil:
			detail = err.Error()
		case st.Status == provision.Failed:
			err = errors.New(st.Detail)
		}
		if st.Status != provision.Skipped && len(r.res.Record.Steps) < fwupdate.MaxSteps {
			r.res.Record.Step(st.Name, started, r.s.now(), err, truncate(detail, fwupdate.MaxDetailLen))
		}
	}
	if r.onStep != nil {
		r.onStep(st)
	}
}

// Program runs one board through the package: read its id, take and
// verify its ticket, provision it with the batch CA, flash and boot the
// image, confirm it and record the result. port names the board for
// people. onStep, when not nil, is called as each step starts and ends.
// The board's Result is returned whatever happened; a board refused
// before anything was written has State Refused.
func (s *Station) Program(ctx context.Context, c *smp.Client, port string, onStep func(Step)) *Result {
	res := s.newResult(port)
	r := &run{s: s, c: c, res: res, onStep: onStep}
	return s.finish(ctx, res, r.program(ctx))
}

// finish counts and records a board's run that ended with err.
func (s *Station) finish(ctx context.Context, res *Result, err error) *Result {
	res.Finished = s.now()
	s.mu.Lock()
	switch {
	case err == nil:
		res.State = Done
		s.counts.Done++
	case errors.Is(err, ErrRefused):
		res.State, res.Reason = Refused, usererr.Message(err)
		s.counts.Refused++
	default:
		res.State, res.Reason = Failed, usererr.Message(err)
		s.counts.Failed++
	}
	s.mu.Unlock()
	if res.Record != nil {
		outcome := map[State]fwupdate.Outcome{Done: fwupdate.Updated, Refused: fwupdate.Refused, Failed: fwupdate.Failed}[res.State]
		reason := "" // the record keeps the error's full text
		if err != nil {
			reason = err.Error()
		}
		res.Record.Finish(outcome, truncate(reason, fwupdate.MaxDetailLen), res.Finished)
		if s.Records != nil && res.DeviceID != "" {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			if err := s.Records(rctx, res.Record); err != nil {
				res.Steps = append(res.Steps, Step{Name: "record", Status: provision.Failed, Detail: usererr.Message(err)})
			}
			cancel()
		}
	}
	return res
}

// release checks the package may still be used and returns its release
// as the update flow takes a verified one: the package's signature vouches
// for it. The caller adds what its kind of board reads besides (the image
// index, the flash set's parts).
func (r *run) release() (*updateflow.Verified, error) {
	s, m := r.s, r.s.Package.Manifest
	if err := m.Open(s.now()); err != nil {
		return nil, usererr.Errorf("", "%w: %v", ErrRefused, err)
	}
	ver, err := bundle.ParseVersion(m.Release.Version)
	if err != nil {
		return nil, err
	}
	return &updateflow.Verified{
		Manifest:  &bundle.Manifest{Product: m.Product, Version: ver, ImageFormat: m.Release.ImageFormat, Image: m.Release.Image},
		ReleaseID: m.Release.ID.String(),
		Image:     s.Package.Contents.Image,
		Hash:      m.Release.Image.SHA256[:],
	}, nil
}

func (r *run) program(ctx context.Context) error {
	s, m := r.s, r.s.Package.Manifest
	if m.Release.IsFlashSet() {
		return usererr.Errorf("", "%w: the package programs an ESP32 flash set: present the board on an ESP32 port; nothing was written", ErrRefused)
	}
	if err := m.Open(s.now()); err != nil {
		return usererr.Errorf("", "%w: %v", ErrRefused, err)
	}
	pc := provision.NewClient(r.c)
	var info provision.Info
	if err := r.step("info", func() (string, error) {
		var err error
		if info, err = pc.Info(ctx); err != nil {
			return "", err
		}
		r.res.DeviceID = info.ID
		if r.res.Record != nil {
			r.res.Record.Board.Node, r.res.Record.Board.Hardware = info.ID, info.Model
		}
		d := fmt.Sprintf("device %s, %s rev %s: %s", info.ID, info.Model, info.Rev, info.State())
		if info.Locked {
			return d, usererr.Errorf("", "%w: device %s is already provisioned and locked; nothing was written", ErrRefused, info.ID)
		}
		return d, nil
	}); err != nil {
		return err
	}

	ticket, err := r.ticket(ctx, info.ID)
	if err != nil {
		return err
	}
	prov, err := r.provision(ctx, pc, ticket)
	if err != nil {
		return err
	}
	return r.flash(ctx, prov)
}

// ticket takes the board's ticket from the server and verifies it: bound
// to this package and this device, signed by the server's ticket key.
func (r *run) ticket(ctx context.Context, device string) (*production.SignedTicket, error) {
	s := r.s
	var ticket *production.SignedTicket
	err := r.step("ticket", func() (string, error) {
		raw, remaining, err := s.Tickets.Take(ctx, device)
		if err != nil {
			if errors.Is(err, ErrRefused) {
				return "", usererr.Errorf("", "%w; nothing was written to device %s", err, device)
			}
			return "", err
		}
		s.mu.Lock()
		s.counts.Remaining = remaining
		s.mu.Unlock()
		if ticket, err = production.ParseTicket(raw); err != nil {
			return "", err
		}
		t, err := ticket.Verify(s.TicketKey)
		if err != nil {
			return "", usererr.Errorf("", "%w: the ticket does not verify under the server's ticket key (%v); nothing was written", ErrRefused, err)
		}
		if err := t.For(s.Package.ID, device, s.now()); err != nil {
			return "", usererr.Errorf("", "%w: %v; nothing was written", ErrRefused, err)
		}
		r.res.Ticket = t
		return fmt.Sprintf("ticket %d of %d (%.8s…), %d left in the order", t.Seq, t.Count, t.ID, remaining), nil
	})
	return ticket, err
}

// provision runs the guided provisioning flow with the batch CA.
func (r *run) provision(ctx context.Context, pc *provision.Client, ticket *production.SignedTicket) (*provision.Result, error) {
	s, m := r.s, r.s.Package.Manifest
	caCert, root, err := m.Certificates()
	if err != nil {
		return nil, err
	}
	ca, err := pki.BatchSigner(caCert, s.Package.Contents.CAKey)
	if err != nil {
		return nil, err
	}
	base, err := pki.CAInfo{Cert: caCert.Raw}.Subtree()
	if err != nil {
		return nil, err
	}
	auth := &batchAuthority{ca: ca, root: root, base: base, ticket: ticket, rand: s.rand(), now: s.now()}
	plan := provision.Plan{CA: auth, Profile: m.Profile.PKI(m.Product), Registry: s.Registry, Now: s.Now,
		OnStep: func(sr provision.StepResult) {
			st := Step{Name: string(sr.Step), Status: sr.Status, Detail: sr.Detail, Took: sr.Took}
			if sr.Status == provision.Running {
				if r.onStep != nil {
					r.onStep(st)
				}
				return
			}
			if sr.Err != nil {
				st.Detail = usererr.Message(sr.Err)
			}
			r.record(st, sr.Err)
		}}
	res, err := provision.Provision(ctx, pc, plan)
	if res != nil {
		r.res.Chain = res.Chain
	}
	return res, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
