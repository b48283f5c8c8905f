package station

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"trustforge/devices/esprom"
	"trustforge/devices/fwupdate"
	"trustforge/internal/usererr"
	"trustforge/wasm/updateflow"
)

// ProgramESP runs one ESP32 board through a flash-set package: it detects
// the chip and checks the flash set against it (the chip and its
// revision, the flash size, with Secure Boot on the signatures against the
// board's key digests) before anything is written; takes and verifies the
// board's ticket, bound to the chip's factory MAC as its device id; writes
// every part at its offset with the chip's MD5 check (encrypted by the
// chip where the package marks a part and the board's flash encryption is
// on); restarts it and checks from its boot log that it runs the package's
// version; and records the result. link reaches the board's port.
//
// An ESP32's ROM loader cannot make a key on the board, so no device
// certificate is issued: the ticket, the record and the audit log count
// the board.
func (s *Station) ProgramESP(ctx context.Context, link updateflow.ESPLink, port string, onStep func(Step)) *Result {
	res := s.newResult(port)
	r := &run{s: s, res: res, onStep: onStep}
	return s.finish(ctx, res, r.programESP(ctx, link))
}

// newResult starts a board's result and record.
func (s *Station) newResult(port string) *Result {
	m := s.Package.Manifest
	res := &Result{Port: port, Started: s.now()}
	if rec, err := fwupdate.NewRecord(s.rand(), res.Started); err == nil {
		rec.Technician, rec.Product, rec.Component = s.Operator, m.Product, m.Release.Component
		rec.Channel, rec.Release, rec.Version = "production", m.Release.ID.String(), m.Release.Version
		rec.ImageSHA256 = m.Release.Image.SHA256.String()
		rec.Board.Transport = "serial"
		res.Record = rec
	}
	return res
}

func (r *run) programESP(ctx context.Context, link updateflow.ESPLink) error {
	s, m := r.s, r.s.Package.Manifest
	if !m.Release.IsFlashSet() {
		return usererr.Errorf("", "%w: the package programs an MCUboot image, not an ESP32 flash set; nothing was written", ErrRefused)
	}
	v, err := r.release()
	if err != nil {
		return err
	}
	v.Manifest.Parts = m.Release.Parts
	k := &updateflow.ESP{Link: link, BootTimeout: s.BootTimeout}
	defer k.Close()
	var id string
	if err := r.step("info", func() (string, error) {
		f, err := k.Check(ctx, v)
		if ci := k.Chip(); ci != nil && len(ci.MAC) > 0 {
			id = hex.EncodeToString(ci.MAC)
			r.res.DeviceID = id
			if r.res.Record != nil {
				r.res.Record.Board.Node, r.res.Record.Board.Hardware = id, f.Hardware
			}
		}
		var ref *fwupdate.Refusal
		switch {
		case errors.As(err, &ref):
			return "", usererr.Errorf("", "%w: %s", ErrRefused, ref.Reason)
		case err != nil:
			return "", err
		case id == "":
			return "", usererr.Errorf("", "%w: the chip's MAC cannot be read (Secure Download Mode?), so it has no device id for its ticket; nothing was written", ErrRefused)
		}
		return fmt.Sprintf("device %s: %s", id, f.Detail), nil
	}); err != nil {
		return err
	}
	if _, err := r.ticket(ctx, id); err != nil {
		return err
	}
	for _, st := range []struct {
		name string
		f    func() (string, error)
	}{
		{"upload", func() (string, error) { return k.Write(ctx, v, func(updateflow.Event) {}) }},
		{"boot", func() (string, error) { return k.Boot(ctx, v) }},
		{"running", func() (string, error) { return k.Running(ctx, v) }},
	} {
		if err := r.step(st.name, st.f); err != nil {
			return err
		}
	}
	return nil
}

// portLink opens a station port for the ROM loader.
type portLink struct {
	p    Port
	baud int
}

func (l portLink) Open(ctx context.Context) (esprom.Transport, error) { return l.p.Open(ctx, l.baud) }
