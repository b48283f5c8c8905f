package api

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"trustforge/crypto/audit"
	"trustforge/crypto/bundle"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/internal/apiwire"
	"trustforge/server/blob"
	"trustforge/server/store"
)

// Production orders: engineers upload production packages (.tfp, see
// docs/production-format.md) for programming stations; stations take one
// production ticket before each device, which the server counts against
// the package's authorised count and signs.

// MaxTicketBlock bounds the tickets an offline station may take at once.
const MaxTicketBlock = apiwire.MaxTicketBlock

func packageOut(p store.ProductionPackage, now time.Time) apiwire.Package {
	return apiwire.Package{ID: p.ID, Product: p.Product, Batch: p.Batch, Count: p.Count, Issued: p.Issued,
		Remaining: max(0, p.Count-p.Issued), Refused: p.Refused, NotBefore: p.NotBefore, Expires: p.Expires,
		Open: !now.Before(p.NotBefore) && now.Before(p.Expires), Release: p.Release, Version: p.Version,
		ImageMode: p.ImageMode, Signer: p.Signer, PackageSize: int64(len(p.Prefix)) + p.PayloadSize,
		Uploaded: p.Uploaded, UploadedBy: p.UploadedBy, Manifest: json.RawMessage(p.ManifestJSON)}
}

func ticketOut(t store.ProductionTicket) apiwire.Ticket {
	return apiwire.Ticket{ID: t.ID, Package: t.Package, Seq: t.Seq, Device: t.Device, Station: t.Station, Issued: t.Issued,
		Signed: t.Ticket, UsedBy: t.UsedBy}
}

// productionErr maps crypto/production's errors to API errors.
func productionErr(err error) error {
	switch {
	case errors.Is(err, production.ErrUntrusted):
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeUntrustedKey, "%s", err)
	case errors.Is(err, production.ErrModified):
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeBadSignature, "%s", err)
	case errors.Is(err, production.ErrNotPackage), errors.Is(err, production.ErrMalformed):
		return errorf(http.StatusBadRequest, apiwire.CodeBadPackage, "%s", err)
	case errors.Is(err, production.ErrUnsupported):
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeUnsupported, "%s", err)
	}
	return err
}

// publishPackage accepts a production package: signed by an active key of
// its product, for a release of that product that is still offered,
// encrypted to station accounts only, not yet expired, its batch CA under
// the product's root; then the payload, checked as it streams.
func (s *Server) publishPackage(w http.ResponseWriter, r *http.Request, p *principal) error {
	ctx := r.Context()
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxUpload)
	signed, err := production.ReadHeader(body)
	if err != nil {
		return productionErr(err)
	}
	claimed, err := signed.VerifyIntegrity()
	if err != nil {
		return productionErr(err)
	}
	prod, err := s.store.Product(ctx, claimed.Product)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeUnknownProduct, "product %q is not registered", claimed.Product)
	} else if err != nil {
		return err
	}
	trusted, err := s.trustedKeys(r, prod.Name)
	if err != nil {
		return err
	}
	m, err := signed.Verify(trusted...)
	if err != nil {
		return productionErr(err)
	}
	now := s.cfg.Now()
	if !now.Before(m.Expires) {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeExpired, "the order %s ended at %s", m.Batch, m.Expires.Format(time.RFC3339))
	}
	if err := s.checkPackageRelease(r, m); err != nil {
		return err
	}
	accounts, err := s.stationAccounts(r, m.Stations)
	if err != nil {
		return err
	}
	ca, root, err := m.Certificates()
	if err != nil {
		return productionErr(err)
	}
	if err := s.checkAnchor(ctx, prod.Name, root, "the batch CA"); err != nil {
		return err
	}
	if !validExpiry(m.Expires) || !validExpiry(m.NotBefore) {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeBadExpiry, "the order's validity (%s to %s) ends after %s, the latest time the server keeps",
			m.NotBefore.Format(time.RFC3339), m.Expires.Format(time.RFC3339), maxExpiry.Format(time.RFC3339))
	}
	id := signed.ID()
	if _, err := s.store.Package(ctx, id); err == nil {
		return errorf(http.StatusConflict, apiwire.CodeExists, "production package %s is already uploaded", id)
	}

	bw, err := s.blobs.Create(ctx)
	if err != nil {
		return err
	}
	defer bw.Abort()
	pv := bundle.NewPayloadCheck(m.Payload)
	if _, err := io.Copy(io.MultiWriter(pv, bw), io.LimitReader(body, m.Payload.Size+1)); err != nil {
		return err
	}
	if err := pv.Check(); err != nil {
		return err
	}
	release, err := s.commitBlob(ctx, bw)
	if err != nil {
		return err
	}
	defer release()
	var prefix bytes.Buffer
	if err := production.WriteHeader(&prefix, signed); err != nil {
		return err
	}
	raw := signed.Bytes()
	mj, err := json.Marshal(m)
	if err != nil {
		return err
	}
	pkg := store.ProductionPackage{ID: id, Product: prod.Name, Batch: m.Batch, Count: m.Count, NotBefore: m.NotBefore,
		Expires: m.Expires, Release: m.Release.ID.String(), Version: m.Release.Version, ImageMode: string(m.ImageMode),
		Signer: signed.KeyID(), CAKeyID: hex.EncodeToString(ca.SubjectKeyId), Manifest: raw, ManifestJSON: mj,
		Prefix: prefix.Bytes(), PayloadDigest: m.Payload.SHA256, PayloadSize: m.Payload.Size, Uploaded: now, UploadedBy: p.user.Name,
		Stations: accounts}
	ev := s.event(p, "production.publish", id, map[string]string{
		"product": pkg.Product, "batch": pkg.Batch, "count": strconv.Itoa(pkg.Count), "expires": pkg.Expires.Format(time.RFC3339),
		"release": pkg.Release, "version": pkg.Version, "image_mode": pkg.ImageMode, "signer": pkg.Signer,
		"stations": strings.Join(m.Stations, " "), "accounts": strings.Join(accounts, " "), "ca": pkg.CAKeyID,
	})
	if err := s.store.AddPackage(ctx, pkg, ev); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, packageOut(pkg, now))
	return nil
}

// checkPackageRelease checks that a package programs a release of its
// product that is still offered, with that release's image.
func (s *Server) checkPackageRelease(r *http.Request, m *production.Manifest) error {
	rel, err := s.store.Release(r.Context(), m.Release.ID.String())
	if errors.Is(err, store.ErrNotFound) || err == nil && rel.Product != m.Product {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeUnknownRelease, "release %s is not a release of %s", m.Release.ID, m.Product)
	} else if err != nil {
		return err
	}
	if rel.IsYanked() {
		return errorf(http.StatusConflict, apiwire.CodeYanked, "release %s was yanked: %s", rel.ID, rel.YankReason)
	}
	rs, err := bundle.ParseSigned(rel.Manifest)
	if err != nil {
		return err
	}
	rm, err := rs.VerifyIntegrity()
	if err != nil {
		return err
	}
	if rm.Image.SHA256 != m.Release.Image.SHA256 || rm.Version.String() != m.Release.Version || rm.Component != m.Release.Component {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeWrongImage, "the package's image (%s %s) is not release %s's (%s %s)",
			m.Release.Version, m.Release.Image.SHA256, rel.ID, rm.Version, rm.Image.SHA256)
	}
	return nil
}

// stationAccounts checks that every recipient of a package is the
// published recipient of an enabled station account, and returns those
// accounts: the package is bound to them, whoever publishes the same
// recipient later.
func (s *Server) stationAccounts(r *http.Request, recipients []string) ([]string, error) {
	rs, err := s.store.ListRecipients(r.Context())
	if err != nil {
		return nil, err
	}
	var accounts []string
	for _, want := range recipients {
		var holders []store.Recipient
		for _, rc := range rs {
			if rc.Recipient == want {
				holders = append(holders, rc)
			}
		}
		if len(holders) != 1 || !holders[0].Roles.Has(store.RoleStation) {
			return nil, errorf(http.StatusUnprocessableEntity, apiwire.CodeNotStation,
				"the package is encrypted to %.24s…, which is not the published recipient of one station account: only stations may open production packages", want)
		}
		if !slices.Contains(accounts, holders[0].User) {
			accounts = append(accounts, holders[0].User)
		}
	}
	slices.Sort(accounts)
	return accounts, nil
}

func (s *Server) listPackages(w http.ResponseWriter, r *http.Request, p *principal) error {
	product := r.URL.Query().Get("product")
	if product != "" {
		if err := checkName("product", product, false); err != nil {
			return err
		}
	}
	ps, err := s.store.ListPackages(r.Context(), product)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	out := make([]apiwire.Package, 0, len(ps))
	for _, pk := range ps {
		out = append(out, packageOut(pk, now))
	}
	writeJSON(w, http.StatusOK, apiwire.PackageList{Packages: out})
	return nil
}

func (s *Server) getPackage(w http.ResponseWriter, r *http.Request, p *principal) error {
	pk, err := s.store.Package(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, packageOut(pk, s.cfg.Now()))
	return nil
}

func (s *Server) downloadPackage(w http.ResponseWriter, r *http.Request, p *principal) error {
	pk, err := s.store.Package(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	obj, err := s.blobs.Open(r.Context(), blob.Digest(pk.PayloadDigest))
	if err != nil {
		return err
	}
	defer obj.Close()
	if obj.Size() != pk.PayloadSize {
		return fmt.Errorf("api: payload blob of package %s is %d bytes, want %d", pk.ID, obj.Size(), pk.PayloadSize)
	}
	return serveContent(w, r, content{etag: `"t-` + pk.ID + `"`, name: pk.Product + "-" + pk.Batch + ".tfp",
		ctype: "application/vnd.trustforge.production", head: pk.Prefix, tail: obj})
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request, p *principal) error {
	pk, err := s.store.Package(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ts, err := s.store.ListTickets(r.Context(), pk.ID)
	if err != nil {
		return err
	}
	out := make([]apiwire.Ticket, 0, len(ts))
	for _, t := range ts {
		out = append(out, ticketOut(t))
	}
	writeJSON(w, http.StatusOK, apiwire.TicketList{Tickets: out})
	return nil
}

// ticketRequest is apiwire.TicketRequest as the server checks it.
type ticketRequest apiwire.TicketRequest

func (q *ticketRequest) validate() error {
	switch {
	case q.Device != "" && q.Count != 0:
		return badField("count", "ask for one device's ticket or a block, not both")
	case q.Device != "":
		id, err := pki.ParseDeviceID(q.Device)
		if err != nil || id != q.Device {
			return badField("device", "%q is not a device id: 1 to 32 bytes in lowercase hex", q.Device)
		}
	case q.Count < 1 || q.Count > MaxTicketBlock:
		return badField("count", "a block of 1 to %d tickets, or a device", MaxTicketBlock)
	}
	if q.Request != "" {
		if q.Device != "" {
			return badField("request", "a device's ticket is found again by its device; name block requests only")
		}
		if !validRequestName(q.Request) {
			return badField("request", "%q is not a request name: 1 to 64 letters, digits, '-' and '_'", q.Request)
		}
	}
	return nil
}

func validRequestName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// takeTickets issues a ticket for one device, or a block for offline
// work, counting them against the package's authorised count.
func (s *Server) takeTickets(w http.ResponseWriter, r *http.Request, p *principal) error {
	ctx := r.Context()
	var q ticketRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	pk, err := s.store.Package(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.checkStationAccount(ctx, p, pk); err != nil {
		return err
	}
	key, _, err := s.ticketSigner()
	if err != nil {
		return err
	}
	n := q.Count
	if q.Device != "" {
		n = 1
	}
	now := s.cfg.Now()
	issued := now.UTC().Truncate(time.Second)
	got, err := s.store.IssueTickets(ctx, store.TicketRequest{Package: pk.ID, Device: q.Device, Request: q.Request,
		Station: p.user.Name, N: n, Now: now,
		New: func(seq int) (store.ProductionTicket, error) {
			var id [16]byte
			if _, err := io.ReadFull(s.cfg.Rand, id[:]); err != nil {
				return store.ProductionTicket{}, fmt.Errorf("api: ticket id: %w", err)
			}
			t := production.Ticket{ID: hex.EncodeToString(id[:]), Package: pk.ID, Product: pk.Product, Batch: pk.Batch,
				Seq: seq, Count: pk.Count, Device: q.Device, Issued: issued, Expires: pk.Expires.UTC().Truncate(time.Second)}
			st, err := production.SignTicket(s.cfg.Rand, t, key)
			if err != nil {
				return store.ProductionTicket{}, err
			}
			return store.ProductionTicket{ID: t.ID, Issued: now, Ticket: st.Bytes()}, nil
		},
		Event: func(t store.ProductionTicket) audit.Event {
			return s.event(p, "production.ticket", t.ID, map[string]string{"package": pk.ID, "product": pk.Product,
				"batch": pk.Batch, "seq": strconv.Itoa(t.Seq), "count": strconv.Itoa(pk.Count), "device": t.Device})
		},
		Again: func(t store.ProductionTicket) audit.Event {
			return s.event(p, "production.ticket.again", t.ID, map[string]string{"package": pk.ID, "product": pk.Product,
				"batch": pk.Batch, "seq": strconv.Itoa(t.Seq), "device": t.Device, "request": q.Request, "issued_to": t.Station})
		},
		Refusal: func(reason string) audit.Event {
			return s.event(p, "production.refuse", pk.ID, map[string]string{"product": pk.Product, "batch": pk.Batch,
				"device": q.Device, "asked": strconv.Itoa(n), "reason": reason})
		},
	})
	switch {
	case errors.Is(err, store.ErrCountReached):
		return errorf(http.StatusConflict, apiwire.CodeCountReached, "authorised count reached: %s", trim(err))
	case errors.Is(err, store.ErrOutsideValidity):
		return errorf(http.StatusConflict, apiwire.CodeOrderClosed, "%s", trim(err))
	case errors.Is(err, store.ErrRequestReused):
		return errorf(http.StatusConflict, apiwire.CodeRequestReused, "%s", trim(err))
	case err != nil:
		return err
	}
	out := make([]apiwire.Ticket, 0, len(got.Tickets))
	for _, t := range got.Tickets {
		out = append(out, ticketOut(t))
	}
	// A device's ticket or a named block issued before is handed out
	// again with 200: the station asked twice, or its first answer was
	// lost.
	status := http.StatusCreated
	if got.Again {
		status = http.StatusOK
	}
	writeJSON(w, status, apiwire.Tickets{Tickets: out, Issued: got.Issued, Remaining: max(0, pk.Count-got.Issued)})
	return nil
}

// checkStationAccount refuses a station the package is not bound to: the
// tickets and boards of an order belong to the station accounts it was
// encrypted to when it was uploaded. Packages uploaded before accounts
// were recorded are bound to the one account that publishes one of their
// recipients.
func (s *Server) checkStationAccount(ctx context.Context, p *principal, pk store.ProductionPackage) error {
	refuse := errorf(http.StatusForbidden, apiwire.CodeWrongStation, "production package %s is not addressed to station %s: it is another station's order", pk.ID, p.user.Name)
	if len(pk.Stations) > 0 {
		if slices.Contains(pk.Stations, p.user.Name) {
			return nil
		}
		return refuse
	}
	signed, err := production.ParseSigned(pk.Manifest)
	if err != nil {
		return err
	}
	m, err := signed.VerifyIntegrity()
	if err != nil {
		return err
	}
	rs, err := s.store.ListRecipients(ctx)
	if err != nil {
		return err
	}
	for _, rc := range rs {
		if rc.User != p.user.Name || !slices.Contains(m.Stations, rc.Recipient) {
			continue
		}
		if slices.ContainsFunc(rs, func(o store.Recipient) bool { return o.Recipient == rc.Recipient && o.User != rc.User }) {
			return refuse
		}
		return nil
	}
	return refuse
}
