package api

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"

	"trustforge/crypto/production"
	"trustforge/internal/apiwire"
	"trustforge/server/store"
)

// checkProductionTicket enforces production orders at registration: a
// device certified by a production batch CA must carry a ticket this
// server issued under that batch's package, for this device (or an
// unbound block ticket) and not used by another device; the ticket is then
// recorded as used by the device. A station registers only such devices,
// of a package of the product that names its account; devices certified
// by other CAs pass untouched when an engineer registers them. A device
// built beyond an order has no such ticket and is refused with 422
// no_ticket.
func (s *Server) checkProductionTicket(ctx context.Context, p *principal, leaf *x509.Certificate, product, deviceID string) error {
	// An account that also engineers registers as an engineer would.
	station := p.user.Roles.Has(store.RoleStation) && !p.user.Roles.Has(store.RoleEngineer)
	pkg, err := s.store.PackageByCA(ctx, hex.EncodeToString(leaf.AuthorityKeyId))
	if errors.Is(err, store.ErrNotFound) {
		if station {
			return errorf(http.StatusForbidden, apiwire.CodeNotInOrder,
				"device %s was not certified by the batch CA of a production package: a station registers only the boards of the orders it holds", deviceID)
		}
		return nil
	} else if err != nil {
		return err
	}
	if pkg.Product != product {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeWrongProduct, "device %s was certified for order %s of %s, not for %s", deviceID, pkg.Batch, pkg.Product, product)
	}
	if station {
		if err := s.checkStationAccount(ctx, p, pkg); err != nil {
			return err
		}
	}
	noTicket := func(why string) error {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeNoTicket,
			"device %s was certified by the batch CA of order %s but %s: it is not part of the order", deviceID, pkg.Batch, why)
	}
	st, ok, err := production.TicketOf(leaf)
	switch {
	case !ok:
		return noTicket("its certificate carries no production ticket")
	case err != nil:
		return noTicket("its production ticket does not parse")
	}
	_, pub, err := s.ticketSigner()
	if err != nil {
		return err
	}
	t, err := st.Verify(pub.Crypto())
	if err != nil {
		return noTicket("its production ticket is not signed by this server")
	}
	if err := t.For(pkg.ID, deviceID, leaf.NotBefore); err != nil {
		return noTicket("its production ticket is not valid for it (" + err.Error() + ")")
	}
	if _, err := s.store.Ticket(ctx, t.ID); errors.Is(err, store.ErrNotFound) {
		return noTicket("its production ticket was never issued")
	} else if err != nil {
		return err
	}
	ev := s.event(p, "production.ticket.use", t.ID, map[string]string{"package": pkg.ID, "device": deviceID,
		"seq": strconv.Itoa(t.Seq), "serial": hex.EncodeToString(leaf.SerialNumber.Bytes())})
	if err := s.store.UseTicket(ctx, t.ID, deviceID, s.cfg.Now(), ev); errors.Is(err, store.ErrConflict) {
		return errorf(http.StatusConflict, apiwire.CodeTicketUsed, "%s: a second device with one ticket is a clone", trim(err))
	} else if err != nil {
		return err
	}
	return nil
}
