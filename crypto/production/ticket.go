package production

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"io"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/pki"
	"trustforge/internal/cbor"
	"trustforge/internal/usererr"
)

// TicketKind is the kind of a signed production ticket.
var TicketKind = bundle.EnvelopeKind{
	Name:        "production ticket",
	ContentType: "application/vnd.trustforge.ticket+cbor",
	Label:       "trustforge/production/ticket/v1",
	Max:         MaxTicketSize,
}

// MaxTicketSize bounds a signed ticket.
const MaxTicketSize = 2 << 10

// OIDTicket is the X.509 extension (non-critical) under which a device
// certificate carries its production ticket: an OCTET STRING holding the
// signed ticket. It sits under the documentation enterprise number 32473
// (RFC 5612), as the default device URN does.
var OIDTicket = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 1}

// Ticket is the release server's permission to build one device under a
// production package.
type Ticket struct {
	// ID names the ticket: 16 random bytes, hex.
	ID string `json:"id"`
	// Package is the package's id (Signed.ID).
	Package string `json:"package"`
	// Product and Batch repeat the package's.
	Product string `json:"product"`
	Batch   string `json:"batch"`
	// Seq is the ticket's number within the order, 1 to Count.
	Seq int `json:"seq"`
	// Count is the order's authorised count.
	Count int `json:"count"`
	// Device is the device id the ticket is for (lowercase hex), or empty
	// for a ticket of an offline block, bound to the first device that
	// uses it.
	Device string `json:"device,omitempty"`
	// Issued is when the server issued it; Expires when the order ends.
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
}

type wireTicket struct {
	Format  uint64 `cbor:"format"`
	ID      []byte `cbor:"id"`
	Package []byte `cbor:"package"`
	Product string `cbor:"product"`
	Batch   string `cbor:"batch"`
	Seq     uint64 `cbor:"seq"`
	Count   uint64 `cbor:"count"`
	Device  []byte `cbor:"device,omitempty"`
	Issued  uint64 `cbor:"issued"`
	Expires uint64 `cbor:"expires"`
}

func (t *Ticket) encode() ([]byte, error) {
	id, err1 := hex.DecodeString(t.ID)
	pkg, err2 := hex.DecodeString(t.Package)
	dev, err3 := hex.DecodeString(t.Device)
	switch {
	case err1 != nil || len(id) != 16:
		return nil, usererr.Errorf("", "%w: ticket id %q is not 16 bytes of hex", ErrMalformed, t.ID)
	case err2 != nil || len(pkg) != 32:
		return nil, usererr.Errorf("", "%w: ticket package %q is not a SHA-256", ErrMalformed, t.Package)
	case err3 != nil || len(dev) > pki.MaxDeviceIDLen:
		return nil, usererr.Errorf("", "%w: ticket device %q is not a device id", ErrMalformed, t.Device)
	case pki.CheckProduct(t.Product) != nil || pki.CheckBatch(t.Batch) != nil:
		return nil, usererr.Errorf("", "%w: ticket product %q or batch %q", ErrMalformed, t.Product, t.Batch)
	case t.Count < 1 || t.Count > MaxCount || t.Seq < 1 || t.Seq > t.Count:
		return nil, usererr.Errorf("", "%w: ticket %d of %d", ErrMalformed, t.Seq, t.Count)
	case t.Issued.Unix() <= 0 || t.Issued.Nanosecond() != 0 || t.Expires.Nanosecond() != 0 || !t.Expires.After(t.Issued):
		return nil, usererr.Errorf("", "%w: ticket times: want whole seconds, expiry after issue", ErrMalformed)
	}
	b, err := cbor.MarshalDeterministic(wireTicket{Format: Format, ID: id, Package: pkg, Product: t.Product, Batch: t.Batch,
		Seq: uint64(t.Seq), Count: uint64(t.Count), Device: dev, Issued: uint64(t.Issued.Unix()), Expires: uint64(t.Expires.Unix())})
	if err != nil {
		return nil, usererr.Errorf("production", "encode ticket: %w", err)
	}
	return b, nil
}

func decodeTicket(b []byte) (*Ticket, error) {
	var w wireTicket
	if err := cbor.UnmarshalStrict(b, &w, limits(16)); err != nil {
		return nil, usererr.Errorf("", "%w: ticket: %v", ErrMalformed, err)
	}
	if w.Format != Format {
		return nil, usererr.Errorf("", "%w: ticket format %d", ErrUnsupported, w.Format)
	}
	if w.Seq > MaxCount || w.Count > MaxCount || w.Issued > 1<<40 || w.Expires > 1<<40 {
		return nil, usererr.Errorf("", "%w: ticket: a number is out of range", ErrMalformed)
	}
	t := &Ticket{ID: hex.EncodeToString(w.ID), Package: hex.EncodeToString(w.Package), Product: w.Product, Batch: w.Batch,
		Seq: int(w.Seq), Count: int(w.Count), Device: hex.EncodeToString(w.Device),
		Issued: time.Unix(int64(w.Issued), 0).UTC(), Expires: time.Unix(int64(w.Expires), 0).UTC()}
	again, err := t.encode()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, usererr.Errorf("", "%w: ticket is not in canonical CBOR encoding", ErrMalformed)
	}
	return t, nil
}

// SignedTicket is a ticket as the server signed it. Its contents are
// trustworthy once Verify returns them.
type SignedTicket struct {
	env    *bundle.Envelope
	ticket *Ticket
}

// SignTicket signs t with the server's ticket key.
func SignTicket(rand io.Reader, t Ticket, key crypto.Signer) (*SignedTicket, error) {
	b, err := t.encode()
	if err != nil {
		return nil, err
	}
	env, err := bundle.SignEnvelope(rand, TicketKind, b, key)
	if err != nil {
		return nil, usererr.Errorf("production", "%w", err)
	}
	return ParseTicket(env.Bytes())
}

// ParseTicket parses a signed ticket without verifying it.
func ParseTicket(b []byte) (*SignedTicket, error) {
	env, err := bundle.ParseEnvelope(TicketKind, b)
	if err != nil {
		return nil, usererr.Errorf("", "%w: %w", ErrMalformed, err)
	}
	t, err := decodeTicket(env.UnverifiedPayload())
	if err != nil {
		return nil, err
	}
	return &SignedTicket{env: env, ticket: t}, nil
}

// Bytes returns the signed ticket's encoding.
func (s *SignedTicket) Bytes() []byte { return s.env.Bytes() }

// Claimed returns the ticket's contents unverified: for showing and
// looking up, never for trusting.
func (s *SignedTicket) Claimed() Ticket { return *s.ticket }

// KeyID returns the fingerprint of the key the ticket claims to be signed
// by.
func (s *SignedTicket) KeyID() string { return s.env.KeyID() }

// Verify checks the ticket's signature against the server's ticket keys
// and returns its contents. Errors wrap ErrUntrusted or ErrModified.
func (s *SignedTicket) Verify(trusted ...crypto.PublicKey) (*Ticket, error) {
	if _, err := s.env.Verify(trusted...); err != nil {
		return nil, signatureErr(err)
	}
	t := *s.ticket
	return &t, nil
}

// For checks that t may build device deviceID under package pkg at now:
// the same package, the device it names (any, for a block ticket), and
// not after its expiry. Errors wrap ErrWrongTicket or ErrExpired.
func (t *Ticket) For(pkg, deviceID string, now time.Time) error {
	if t.Package != pkg {
		return usererr.Errorf("", "%w: ticket %s is for package %.16s…, not %.16s…", ErrWrongTicket, t.ID, t.Package, pkg)
	}
	if t.Device != "" && t.Device != deviceID {
		return usererr.Errorf("", "%w: ticket %s is for device %s, not %s", ErrWrongTicket, t.ID, t.Device, deviceID)
	}
	if !now.Before(t.Expires) {
		return usererr.Errorf("", "%w: ticket %s expired at %s", ErrExpired, t.ID, t.Expires.Format(time.RFC3339))
	}
	return nil
}

// Extension returns the certificate extension carrying the ticket.
func (s *SignedTicket) Extension() (pkix.Extension, error) {
	v, err := asn1.Marshal(s.env.Bytes())
	if err != nil {
		return pkix.Extension{}, usererr.Errorf("production", "ticket extension: %w", err)
	}
	return pkix.Extension{Id: OIDTicket, Value: v}, nil
}

// TicketOf returns the ticket a device certificate carries; ok is false
// when it carries none.
func TicketOf(c *x509.Certificate) (t *SignedTicket, ok bool, err error) {
	for _, e := range c.Extensions {
		if !e.Id.Equal(OIDTicket) {
			continue
		}
		var raw []byte
		rest, err := asn1.Unmarshal(e.Value, &raw)
		if err != nil || len(rest) > 0 {
			return nil, true, usererr.Errorf("", "%w: the ticket extension is not an OCTET STRING", ErrMalformed)
		}
		t, err := ParseTicket(raw)
		return t, true, err
	}
	return nil, false, nil
}
