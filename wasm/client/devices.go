package client

import (
	"context"
	"errors"
	"net/url"
	"strconv"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/devices/provision"
	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
)

// RegisterDevice records a provisioned board.
func (c *Client) RegisterDevice(ctx context.Context, r DeviceRegistration) (Device, error) {
	var d Device
	err := c.call(ctx, apiwire.RegisterDevice.Method, apiwire.RegisterDevice.Path(), r, &d)
	return d, err
}

// Device returns a registered board.
func (c *Client) Device(ctx context.Context, id string) (Device, error) {
	var d Device
	err := c.call(ctx, apiwire.GetDevice.Method, apiwire.GetDevice.Path(id), nil, &d)
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
	var out apiwire.DeviceList
	err := c.call(ctx, apiwire.ListDevices.Method, apiwire.ListDevices.Path()+"?"+q.Encode(), nil, &out)
	return out.Devices, err
}

// RevokeDevice marks a board's certificate revoked in the registry.
func (c *Client) RevokeDevice(ctx context.Context, id, reason string) (Device, error) {
	var d Device
	err := c.call(ctx, apiwire.RevokeDevice.Method, apiwire.RevokeDevice.Path(id), apiwire.ReasonRequest{Reason: reason}, &d)
	return d, err
}

// PublishCRL uploads an issuer's revocation list (DER or PEM).
func (c *Client) PublishCRL(ctx context.Context, crl []byte) error {
	l, err := pki.ParseCRL(crl, nil)
	if err != nil {
		return err
	}
	return c.call(ctx, apiwire.PublishCRL.Method, apiwire.PublishCRL.Path(), apiwire.PublishCRLRequest{CRL: string(pki.CRLPEM(l.Raw))}, nil)
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
		return nil, usererr.Errorf("client", "the registry's chain of %s: %w", id, err)
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
	if errors.Is(err, apiwire.CodeDeviceRegistered) {
		return usererr.Errorf("", "%w: %v", provision.ErrClone, err)
	}
	return err
}

// EFusesReport is what RecordEFuses sends: an ESP32 board's MAC and eFuse
// security state.
type EFusesReport = apiwire.EFusesReport

// RecordEFuses creates or updates an ESP32 board's registry entry, whose
// id is its MAC's hex digits.
func (c *Client) RecordEFuses(ctx context.Context, r EFusesReport) (Device, error) {
	var d Device
	rt := apiwire.RecordEFuses
	err := c.call(ctx, rt.Method, rt.Path(apiwire.EFusesID(r.MAC)), r, &d)
	return d, err
}
