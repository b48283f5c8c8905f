package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/devices/esprom"
	"trustforge/devices/provision"
)

// Device is a provisioned board in the device registry.
type Device struct {
	ID                       string         `json:"id"`
	Product                  string         `json:"product"`
	Model                    string         `json:"model"`
	Rev                      string         `json:"rev"`
	Serial                   string         `json:"serial"`
	Issuer                   string         `json:"issuer"`
	Subject                  string         `json:"subject"`
	Chain                    string         `json:"chain"` // PEM: device certificate, intermediate, root
	Root                     string         `json:"root"`
	EncryptionKey            string         `json:"encryption_key,omitempty"` // PEM X25519 public key
	EncryptionKeyFingerprint string         `json:"encryption_key_fingerprint,omitempty"`
	BootKeyHash              string         `json:"boot_key_hash,omitempty"`
	Provisioned              time.Time      `json:"provisioned"`
	Operator                 string         `json:"operator"`
	Revoked                  *DeviceRevoked `json:"revoked,omitempty"`
	// MAC and EFuses are an ESP32 board's factory MAC and eFuse security
	// state, as last recorded (EFusesUpdated); empty for other boards.
	MAC           string                `json:"mac,omitempty"`
	EFuses        *esprom.SecurityState `json:"efuses,omitempty"`
	EFusesUpdated *time.Time            `json:"efuses_updated,omitempty"`
}

// DeviceRevoked says when and why a board's certificate was revoked.
type DeviceRevoked struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

// PublicEncryptionKey parses the board's X25519 image encryption key: the
// key the Releases page encrypts an image to, for this one board.
func (d Device) PublicEncryptionKey() (*keys.PublicKey, error) {
	if d.EncryptionKey == "" {
		return nil, fmt.Errorf("client: device %s has no image encryption key", d.ID)
	}
	k, err := keys.ParsePublicKey([]byte(d.EncryptionKey))
	if err != nil {
		return nil, err
	}
	if k.Algorithm() != keys.X25519 {
		return nil, fmt.Errorf("client: device %s's encryption key is %s, not x25519", d.ID, k.Algorithm())
	}
	return k, nil
}

// DeviceRegistration is what RegisterDevice sends: public material only.
type DeviceRegistration struct {
	ID            string `json:"id"`
	Product       string `json:"product"`
	Model         string `json:"model,omitempty"`
	Rev           string `json:"rev,omitempty"`
	Chain         string `json:"chain"`
	EncryptionKey string `json:"encryption_key,omitempty"`
	BootKeyHash   string `json:"boot_key_hash,omitempty"`
}

// RegisterDevice records a provisioned board.
func (c *Client) RegisterDevice(ctx context.Context, r DeviceRegistration) (Device, error) {
	var d Device
	err := c.call(ctx, http.MethodPost, "/api/devices", r, &d)
	return d, err
}

// Device returns a registered board.
func (c *Client) Device(ctx context.Context, id string) (Device, error) {
	var d Device
	err := c.call(ctx, http.MethodGet, "/api/devices/"+pathEscape(id), nil, &d)
	return d, err
}

// DeviceFilter selects devices; zero fields match everything.
type DeviceFilter struct {
	Product, Query string
	Revoked        bool
	Limit          int
}

// Devices lists registered boards, newest first.
func (c *Client) Devices(ctx context.Context, f DeviceFilter) ([]Device, error) {
	q := url.Values{}
	if f.Product != "" {
		q.Set("product", f.Product)
	}
	if f.Query != "" {
		q.Set("q", f.Query)
	}
	if f.Revoked {
		q.Set("revoked", "true")
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out struct {
		Devices []Device `json:"devices"`
	}
	err := c.call(ctx, http.MethodGet, "/api/devices?"+q.Encode(), nil, &out)
	return out.Devices, err
}

// RevokeDevice marks a board's certificate revoked in the registry.
func (c *Client) RevokeDevice(ctx context.Context, id, reason string) (Device, error) {
	var d Device
	err := c.call(ctx, http.MethodPost, "/api/devices/"+pathEscape(id)+"/revoke", map[string]string{"reason": reason}, &d)
	return d, err
}

// PublishCRL uploads an issuer's revocation list (DER or PEM).
func (c *Client) PublishCRL(ctx context.Context, crl []byte) error {
	l, err := pki.ParseCRL(crl, nil)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodPost, "/api/crls", map[string]string{"crl": string(pki.CRLPEM(l.Raw))}, nil)
}

// Registry returns c as the device registry of a provisioning flow.
func (c *Client) Registry() provision.Registry { return registry{c} }

type registry struct{ c *Client }

func (r registry) Lookup(ctx context.Context, id string) (*provision.Registered, error) {
	// A search rather than GET /api/devices/{id}: a board not registered
	// yet is the usual case, not an error (nor a 404 in the browser's
	// console).
	ds, err := r.c.Devices(ctx, DeviceFilter{Query: id, Revoked: true, Limit: 1000})
	if err != nil {
		return nil, err
	}
	var d *Device
	for i := range ds {
		if ds[i].ID == id {
			d = &ds[i]
		}
	}
	if d == nil {
		return nil, nil
	}
	chain, err := pki.ParseChain([]byte(d.Chain))
	if err != nil {
		return nil, fmt.Errorf("client: the registry's chain of %s: %w", id, err)
	}
	reg := &provision.Registered{Record: provision.Record{DeviceID: d.ID, Product: d.Product, Model: d.Model, Rev: d.Rev,
		Chain: chain.DER(), BootKeyHash: d.BootKeyHash}, Provisioned: d.Provisioned, Operator: d.Operator, Revoked: d.Revoked != nil}
	if d.EncryptionKey != "" {
		k, err := d.PublicEncryptionKey()
		if err != nil {
			return nil, err
		}
		reg.EncryptionKey = k.SPKI()
	}
	return reg, nil
}

func (r registry) Register(ctx context.Context, rec provision.Record) error {
	chain, err := pki.ParseChain(rec.Chain)
	if err != nil {
		return err
	}
	reg := DeviceRegistration{ID: rec.DeviceID, Product: rec.Product, Model: rec.Model, Rev: rec.Rev,
		Chain: string(chain.PEM()), BootKeyHash: rec.BootKeyHash}
	if rec.EncryptionKey != nil {
		k, err := keys.ParseSPKI(rec.EncryptionKey)
		if err != nil {
			return err
		}
		reg.EncryptionKey = string(k.MarshalPEM())
	}
	_, err = r.c.RegisterDevice(ctx, reg)
	if IsCode(err, "device_registered") {
		return fmt.Errorf("%w: %v", provision.ErrClone, err)
	}
	return err
}

// EFusesReport is what RecordEFuses sends: an ESP32 board's MAC and eFuse
// security state.
type EFusesReport struct {
	Product string               `json:"product"`
	Model   string               `json:"model,omitempty"` // the chip
	Rev     string               `json:"rev,omitempty"`
	MAC     string               `json:"mac"` // lowercase, colon-separated
	EFuses  esprom.SecurityState `json:"efuses"`
}

// RecordEFuses creates or updates an ESP32 board's registry entry, whose
// id is its MAC's hex digits.
func (c *Client) RecordEFuses(ctx context.Context, r EFusesReport) (Device, error) {
	var d Device
	id := strings.ReplaceAll(r.MAC, ":", "")
	err := c.call(ctx, http.MethodPut, "/api/devices/"+pathEscape(id)+"/efuses", r, &d)
	return d, err
}
