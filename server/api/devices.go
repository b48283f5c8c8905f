package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/devices/esprom"
	"trustforge/internal/apiwire"
	"trustforge/server/store"
)

// Device registry limits.
const (
	maxChainPEM  = 32 << 10
	maxDeviceTag = 64
)

type registerDeviceRequest apiwire.DeviceRegistration

func checkTag(field, s string) error {
	if len(s) > maxDeviceTag {
		return badField(field, "longer than %d bytes", maxDeviceTag)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return badField(field, "has control characters")
		}
	}
	return nil
}

func (q *registerDeviceRequest) validate() error {
	if strings.Contains(q.Chain, "PRIVATE KEY") || strings.Contains(q.EncryptionKey, "PRIVATE KEY") {
		return errorf(http.StatusBadRequest, apiwire.CodePrivateKey, "a private key was sent: the registry takes public material only, and a board's keys never leave it")
	}
	id, err := pki.ParseDeviceID(q.ID)
	if err != nil || id != q.ID {
		return badField("id", "%q is not a device id: 1 to 32 bytes in lowercase hex", q.ID)
	}
	if err := checkBoard(q.Product, q.Model, q.Rev); err != nil {
		return err
	}
	if q.Chain == "" || len(q.Chain) > maxChainPEM {
		return badField("chain", "required, PEM certificates of at most %d bytes", maxChainPEM)
	}
	if len(q.EncryptionKey) > maxKeyPEM {
		return badField("encryption_key", "longer than %d bytes", maxKeyPEM)
	}
	if q.BootKeyHash != "" {
		if b, err := hex.DecodeString(q.BootKeyHash); err != nil || len(b) != 32 || strings.ToLower(q.BootKeyHash) != q.BootKeyHash {
			return badField("boot_key_hash", "64 lowercase hex digits")
		}
	}
	return nil
}

type revokeDeviceRequest apiwire.ReasonRequest

func (q *revokeDeviceRequest) validate() error {
	if q.Reason == "" || len(q.Reason) > maxReasonLen {
		return badField("reason", "required, at most %d bytes", maxReasonLen)
	}
	return nil
}

type publishCRLRequest apiwire.PublishCRLRequest

func (q *publishCRLRequest) validate() error {
	if q.CRL == "" || len(q.CRL) > 48<<10 {
		return badField("crl", "required, a PEM X509 CRL of at most 48 KiB")
	}
	return nil
}

func deviceOut(d store.Device) apiwire.Device {
	out := apiwire.Device{ID: d.ID, Product: d.Product, Model: d.Model, Rev: d.Rev, Serial: d.Serial, Issuer: d.Issuer,
		Subject: d.Subject, Root: d.Root, EncryptionKey: string(d.EncryptionKey), EncryptionKeyFingerprint: d.EncFingerprint,
		BootKeyHash: d.BootKeyHash, Provisioned: d.Provisioned, Operator: d.Operator}
	if c, err := pki.ParseChain(d.Chain); err == nil {
		out.Chain = string(c.PEM())
	}
	if d.IsRevoked() {
		out.Revoked = &apiwire.Yank{At: d.Revoked, By: d.RevokedBy, Reason: d.RevokeReason}
	}
	out.MAC = d.MAC
	if d.EFuses != nil {
		// The store holds the canonical JSON that recordEFuses wrote.
		var st esprom.SecurityState
		if err := json.Unmarshal(d.EFuses, &st); err == nil {
			out.EFuses, out.EFusesUpdated = &st, &d.EFusesUpdated
		}
	}
	return out
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// registerDevice records a provisioned board: its chain must verify up to
// a root registered as a trust anchor of its product, its certificate must
// name its device id exactly, and the id and certificate must be new. A
// station registers only boards certified by the batch CA of a production
// package it is named in, with a ticket of that package.
func (s *Server) registerDevice(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q registerDeviceRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	if _, err := s.store.Product(r.Context(), q.Product); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(http.StatusUnprocessableEntity, apiwire.CodeUnknownProduct, "product %q is not registered", q.Product)
		}
		return err
	}
	chain, err := pki.ParseChain([]byte(q.Chain))
	if err != nil {
		return badField("chain", "%v", err)
	}
	now := s.cfg.Now()
	leaf, root := chain[0], chain[len(chain)-1]
	if _, err := pki.VerifyDevice(chain, pki.DeviceCheck{Roots: chain[len(chain)-1:], Now: now}); err != nil {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeBadChain, "%v", err)
	}
	if err := s.checkAnchor(r.Context(), q.Product, root, "the chain"); err != nil {
		return err
	}
	rootHash := hexSHA256(root.Raw)
	if !namesDevice(leaf.Subject.CommonName, q.Product, q.ID) || !urisName(leaf.URIs, q.Product, q.ID) {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeWrongDevice, "the certificate (%s) does not name device %s", leaf.Subject.String(), q.ID)
	}
	if err := s.checkProductionTicket(r.Context(), p, leaf, q.Product, q.ID); err != nil {
		return err
	}
	d := store.Device{ID: q.ID, Product: q.Product, Model: q.Model, Rev: q.Rev,
		Serial: hex.EncodeToString(leaf.SerialNumber.Bytes()), Issuer: hex.EncodeToString(leaf.AuthorityKeyId),
		Subject: leaf.Subject.String(), Chain: chain.DER(), Root: rootHash, BootKeyHash: q.BootKeyHash,
		Provisioned: now, Operator: p.user.Name}
	if q.EncryptionKey != "" {
		k, err := keys.ParsePublicKey([]byte(q.EncryptionKey))
		if err != nil {
			return badField("encryption_key", "%v", err)
		}
		if k.Algorithm() != keys.X25519 {
			return badField("encryption_key", "a %s key; a board's image encryption key is X25519", k.Algorithm())
		}
		d.EncryptionKey, d.EncFingerprint = k.MarshalPEM(), hexSHA256(k.SPKI())
	}
	ev := s.event(p, "device.register", d.ID, map[string]string{"product": d.Product, "serial": d.Serial, "issuer": d.Issuer,
		"encryption_key": d.EncFingerprint, "boot_key_hash": d.BootKeyHash})
	if err := s.store.RegisterDevice(r.Context(), d, ev); err != nil {
		if errors.Is(err, store.ErrExists) {
			return errorf(http.StatusConflict, apiwire.CodeDeviceRegistered, "%s: a board with this id was provisioned before; this one is a clone or a replacement", trim(err))
		}
		return err
	}
	writeJSON(w, http.StatusCreated, deviceOut(d))
	return nil
}

// namesDevice reports whether name (a certificate's CN or SAN URI) names
// device id exactly: with the product's name taken out, id must be one of
// its runs of hex digits, whole. "thermo-00112233aabb" names 00112233aabb,
// not aabb.
func namesDevice(name, product, id string) bool {
	name = strings.ReplaceAll(name, product, "/")
	isHex := func(r rune) bool { return '0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F' }
	return slices.Contains(strings.FieldsFunc(name, func(r rune) bool { return !isHex(r) }), id)
}

// urisName reports whether some SAN URI names device id, or there are none.
func urisName(uris []*url.URL, product, id string) bool {
	if len(uris) == 0 {
		return true
	}
	for _, u := range uris {
		if namesDevice(u.String(), product, id) {
			return true
		}
	}
	return false
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request, p *principal) error {
	d, err := s.store.Device(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deviceOut(d))
	return nil
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	f := store.DeviceFilter{Product: q.Get("product"), Query: q.Get("q"), WithRevoked: q.Get("revoked") == "true", Limit: 100}
	if len(f.Query) > maxNameLen {
		return badField("q", "longer than %d bytes", maxNameLen)
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return badField("limit", "1 to 1000")
		}
		f.Limit = n
	}
	ds, err := s.store.ListDevices(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]apiwire.Device, 0, len(ds))
	for _, d := range ds {
		out = append(out, deviceOut(d))
	}
	writeJSON(w, http.StatusOK, apiwire.DeviceList{Devices: out})
	return nil
}

func (s *Server) revokeDevice(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q revokeDeviceRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	id := r.PathValue("id")
	d, err := s.store.Device(r.Context(), id)
	if err != nil {
		return err
	}
	if d.IsRevoked() {
		return errorf(http.StatusConflict, apiwire.CodeRevoked, "device %s was revoked on %s by %s", id, d.Revoked.Format(time.RFC3339), d.RevokedBy)
	}
	ev := s.event(p, "device.revoke", id, map[string]string{"serial": d.Serial, "issuer": d.Issuer, "reason": q.Reason})
	if err := s.store.RevokeDevice(r.Context(), id, s.cfg.Now(), p.user.Name, q.Reason, ev); err != nil {
		return err
	}
	if d, err = s.store.Device(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deviceOut(d))
	return nil
}

// publishCRL stores a revocation list signed by the issuer of a registered
// device, if its number is above the one published before.
func (s *Server) publishCRL(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q publishCRLRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	l, err := pki.ParseCRL([]byte(q.CRL), nil)
	if err != nil {
		return badField("crl", "%v", err)
	}
	issuer := hex.EncodeToString(l.AuthorityKeyId)
	der, err := s.store.IssuerChain(r.Context(), issuer)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(http.StatusUnprocessableEntity, apiwire.CodeUnknownIssuer, "no registered device was issued by the CRL's issuer %s", issuer)
		}
		return err
	}
	chain, err := pki.ParseChain(der)
	if err != nil {
		return err
	}
	if _, err := pki.ParseCRL(l.Raw, chain[1]); err != nil {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeBadSignature, "%v", err)
	}
	c := store.CRL{Issuer: issuer, Number: l.Number.String(), ThisUpdate: l.ThisUpdate, NextUpdate: l.NextUpdate,
		DER: l.Raw, Uploaded: s.cfg.Now(), UploadedBy: p.user.Name}
	ev := s.event(p, "crl.publish", issuer, map[string]string{"number": c.Number, "revoked": strconv.Itoa(len(l.RevokedCertificateEntries))})
	if err := s.store.PutCRL(r.Context(), c, ev); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errorf(http.StatusConflict, apiwire.CodeCRLNotNewer, "%s", trim(err))
		}
		return err
	}
	writeJSON(w, http.StatusCreated, apiwire.CRLInfo{Issuer: issuer, Number: c.Number, ThisUpdate: c.ThisUpdate, NextUpdate: c.NextUpdate,
		Revoked: len(l.RevokedCertificateEntries), Uploaded: c.Uploaded, UploadedBy: c.UploadedBy})
	return nil
}

// getCRL serves an issuer's latest CRL (DER, application/pkix-crl) to
// anyone: relying parties fetch it from the certificates' distribution
// point without an account.
func (s *Server) getCRL(w http.ResponseWriter, r *http.Request, p *principal) error {
	c, err := s.store.CRL(r.Context(), strings.TrimSuffix(r.PathValue("issuer"), ".crl"))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/pkix-crl")
	h.Set("Cache-Control", "max-age=300")
	h.Set("Content-Length", fmt.Sprint(len(c.DER)))
	w.WriteHeader(http.StatusOK)
	w.Write(c.DER)
	return nil
}

// checkBoard checks the product, model and revision a board is recorded
// under, as registrations and eFuse reports name them.
func checkBoard(product, model, rev string) error {
	if err := checkName("product", product, false); err != nil {
		return err
	}
	if err := checkTag("model", model); err != nil {
		return err
	}
	return checkTag("rev", rev)
}
