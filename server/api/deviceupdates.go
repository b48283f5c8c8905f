package api

import (
	"net/http"
	"strconv"
	"time"

	"trustforge/devices/fwupdate"
	"trustforge/internal/apiwire"
)

// deviceUpdate is the body of POST /api/device-updates: the console's
// record of one board update (devices/fwupdate.Record).
type deviceUpdate struct {
	fwupdate.Record
}

func (q *deviceUpdate) validate() error {
	if err := q.Record.Validate(); err != nil {
		return badField("record", "%v", err)
	}
	return nil
}

// recordDeviceUpdate appends a technician's or station's record of a board
// update to the audit log: "device.update", subject the record's ID, the
// actor the account that sends it. Consoles keep records while offline and
// send them later, so the entry's time is when it arrived and the record's
// own times are in its detail. A record sent twice (its first answer lost)
// is logged twice under the same ID.
func (s *Server) recordDeviceUpdate(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q deviceUpdate
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	rec := q.Record
	detail := map[string]string{
		"outcome":    string(rec.Outcome),
		"started":    rec.Started.UTC().Format(time.RFC3339),
		"finished":   rec.Finished.UTC().Format(time.RFC3339),
		"technician": rec.Technician,
		"product":    rec.Product,
		"component":  strconv.Itoa(rec.Component),
		"channel":    rec.Channel,
		"release":    rec.Release,
		"version":    rec.Version,
		"image":      rec.ImageSHA256,
		"board":      rec.Board.Node,
		"hardware":   rec.Board.Hardware,
		"transport":  rec.Board.Transport,
		"from":       rec.Board.FromVersion,
		"reason":     rec.Reason,
		"steps":      strconv.Itoa(len(rec.Steps)),
	}
	for k, v := range detail {
		if v == "" {
			delete(detail, k)
		}
	}
	if err := s.store.Audit(r.Context(), s.event(p, "device.update", rec.ID, detail)); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiwire.UpdateRecorded{ID: rec.ID})
	return nil
}
