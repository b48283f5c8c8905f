package client

import (
	"context"

	"trustforge/crypto/pki"
	"trustforge/devices/provision"
	"trustforge/internal/apiwire"
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
type DeviceFilter = apiwire.DeviceFilter

// Devices lists registered boards, newest first.
func (c *Client) Devices(ctx context.Context, f DeviceFilter) ([]Device, error) {
	var out apiwire.DeviceList
	err := c.call(ctx, apiwire.ListDevices.Method, apiwire.ListDevices.Path()+"?"+f.Encode(), nil, &out)
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
func (c *Client) Registry() provision.Registry { return provision.APIRegistry{API: c} }

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
