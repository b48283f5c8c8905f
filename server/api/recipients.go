package api

import (
	"errors"
	"net/http"
	"strings"

	"trustforge/crypto/bundle"
	"trustforge/internal/apiwire"
	"trustforge/server/store"
)

// The recipient directory: each account may publish one age recipient, the
// public key releases are encrypted to so that its holder (a technician's
// or a station's vault) can open them; engineers list the directory to
// choose who may open a release. Only public keys are accepted.

type setRecipientRequest apiwire.SetRecipientRequest

func (q *setRecipientRequest) validate() error {
	q.Recipient = strings.TrimSpace(q.Recipient)
	if strings.HasPrefix(strings.ToUpper(q.Recipient), "AGE-SECRET-KEY-") {
		return errorf(http.StatusBadRequest, apiwire.CodePrivateKey, "recipient: that is an age identity (a private key); publish only its recipient (age1…)")
	}
	if q.Recipient == "" || len(q.Recipient) > bundle.MaxRecipientLen {
		return badField("recipient", "required, an age recipient of at most %d bytes", bundle.MaxRecipientLen)
	}
	if _, err := bundle.ParseRecipient(q.Recipient); err != nil {
		return badField("recipient", "not an age recipient (want age1…)")
	}
	return nil
}

func recipientOut(rc store.Recipient) apiwire.Recipient {
	return apiwire.Recipient{User: rc.User, Roles: rc.Roles, Role: rc.Roles.String(), Recipient: rc.Recipient, Updated: rc.Updated}
}

func (s *Server) setRecipient(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q setRecipientRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	rc := store.Recipient{User: p.user.Name, Roles: p.user.Roles, Recipient: q.Recipient, Updated: s.cfg.Now()}
	ev := s.event(p, "recipient.set", p.user.Name, map[string]string{"recipient": rc.Recipient})
	if err := s.store.SetRecipient(r.Context(), rc, ev); err != nil {
		if errors.Is(err, store.ErrExists) {
			return errorf(http.StatusConflict, apiwire.CodeRecipientTaken, "%s: publish your own vault's recipient", trim(err))
		}
		return err
	}
	writeJSON(w, http.StatusOK, recipientOut(rc))
	return nil
}

func (s *Server) listRecipients(w http.ResponseWriter, r *http.Request, p *principal) error {
	rs, err := s.store.ListRecipients(r.Context())
	if err != nil {
		return err
	}
	out := make([]apiwire.Recipient, 0, len(rs))
	for _, rc := range rs {
		out = append(out, recipientOut(rc))
	}
	writeJSON(w, http.StatusOK, apiwire.RecipientList{Recipients: out})
	return nil
}
