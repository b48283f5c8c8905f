package api

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"

	"trustforge/devices/esprom"
	"trustforge/internal/apiwire"
	"trustforge/server/store"
)

// recordEFusesRequest reports an ESP32-family board's MAC and eFuse
// security state, as the console reads them while it provisions the
// board.
type recordEFusesRequest struct {
	Product string          `json:"product"`
	Model   string          `json:"model,omitempty"` // the chip, e.g. ESP32-C3
	Rev     string          `json:"rev,omitempty"`   // its revision, e.g. v0.4
	MAC     string          `json:"mac"`             // the factory MAC, lowercase, colon-separated
	EFuses  json.RawMessage `json:"efuses"`          // esprom.SecurityState
}

func (q *recordEFusesRequest) validate() error {
	if err := checkBoard(q.Product, q.Model, q.Rev); err != nil {
		return err
	}
	if hw, err := net.ParseMAC(q.MAC); err != nil || len(hw) != 6 || hw.String() != q.MAC {
		return badField("mac", "%q is not a MAC address: six lowercase hex pairs joined by colons", q.MAC)
	}
	if len(q.EFuses) == 0 {
		return badField("efuses", "required")
	}
	return nil
}

// recordEFuses creates or updates the registry entry of an ESP32 board,
// whose id is its MAC's hex digits: the console calls it when it reads
// the board for provisioning and after each eFuse step. An update must
// keep the product, the MAC, and every eFuse the entry records as burned
// (eFuses never go back from 1 to 0: a board that reports one cleared is
// not the board recorded), and a revoked board is not updated.
func (s *Server) recordEFuses(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q recordEFusesRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id != apiwire.EFusesID(q.MAC) {
		return badField("mac", "%s does not match device id %s: an ESP32 board's id is its MAC's 12 hex digits", q.MAC, id)
	}
	st, err := esprom.ParseState(q.EFuses)
	var bad *esprom.StateError
	if errors.As(err, &bad) {
		return badField("efuses", "%s", bad.Problem)
	} else if err != nil {
		return err
	}
	if _, err := s.store.Product(r.Context(), q.Product); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(http.StatusUnprocessableEntity, apiwire.CodeUnknownProduct, "product %q is not registered", q.Product)
		}
		return err
	}
	canonical, err := json.Marshal(st)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	d := store.Device{ID: id, Product: q.Product, Model: q.Model, Rev: q.Rev, MAC: q.MAC, EFuses: canonical,
		EFusesUpdated: now, Provisioned: now, Operator: p.user.Name}
	check := func(prior store.Device) error {
		switch {
		case prior.Product != q.Product:
			return errorf(http.StatusConflict, apiwire.CodeConflict, "device %s is registered to product %s, not %s", id, prior.Product, q.Product)
		case prior.IsRevoked():
			return errorf(http.StatusConflict, apiwire.CodeRevoked, "device %s was revoked on %s by %s", id, prior.Revoked.Format("2006-01-02"), prior.RevokedBy)
		case prior.MAC != "" && prior.MAC != q.MAC:
			return errorf(http.StatusConflict, apiwire.CodeConflict, "device %s is registered with MAC %s", id, prior.MAC)
		}
		if prior.EFuses != nil {
			was, err := esprom.ParseState(prior.EFuses)
			if err != nil {
				return err
			}
			var bad *esprom.StateError
			if err := st.Regresses(was); errors.As(err, &bad) {
				return errorf(http.StatusConflict, apiwire.CodeEFuseRegressed, "%s", bad.Problem)
			} else if err != nil {
				return err
			}
		}
		return nil
	}
	ev := s.event(p, "device.efuses", id, map[string]string{"product": q.Product, "mac": q.MAC, "chip": st.Chip,
		"secure_boot": onOff(st.SecureBoot), "flash_encryption": onOff(st.FlashEncryption), "efuses": string(canonical)})
	created, err := s.store.RecordEFuses(r.Context(), d, check, ev)
	if err != nil {
		return err
	}
	if d, err = s.store.Device(r.Context(), id); err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, deviceOut(d))
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
