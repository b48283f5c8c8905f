package client

import (
	"context"
	"net/http"

	"trustforge/crypto/pki"
	"trustforge/devices/provision"
	"trustforge/internal/apiwire"
)

// Device is a provisioned board in the server's device registry.
type Device = apiwire.Device

// DeviceRegistration is what RegisterDevice sends: public material only.
type DeviceRegistration = apiwire.DeviceRegistration

// RegisterDevice records a provisioned board.
func (c *Client) RegisterDevice(ctx context.Context, r DeviceRegistration) (Device, error) {
	var d Device
	err := c.jsonCall(ctx, apiwire.RegisterDevice.Method, apiwire.RegisterDevice.Path(), r, http.StatusCreated, &d)
	return d, err
}

// Device returns a registered board.
func (c *Client) Device(ctx context.Context, id string) (Device, error) {
	var d Device
	err := c.jsonCall(ctx, apiwire.GetDevice.Method, apiwire.GetDevice.Path(id), nil, http.StatusOK, &d)
	return d, err
}

// DeviceFilter selects devices; zero fields match everything.
type DeviceFilter = apiwire.DeviceFilter

// Devices lists registered boards, newest first.
func (c *Client) Devices(ctx context.Context, f DeviceFilter) ([]Device, error) {
	var out apiwire.DeviceList
	err := c.jsonCall(ctx, apiwire.ListDevices.Method, apiwire.ListDevices.Path()+"?"+f.Encode(), nil, http.StatusOK, &out)
	return out.Devices, err
}

// RevokeDevice marks a board's certificate revoked in the registry.
func (c *Client) RevokeDevice(ctx context.Context, id, reason string) (Device, error) {
	var d Device
	err := c.jsonCall(ctx, apiwire.RevokeDevice.Method, apiwire.RevokeDevice.Path(id), apiwire.ReasonRequest{Reason: reason}, http.StatusOK, &d)
	return d, err
}

// PublishCRL uploads an issuer's revocation list (DER or PEM).
func (c *Client) PublishCRL(ctx context.Context, crl []byte) error {
	l, err := pki.ParseCRL(crl, nil)
	if err != nil {
		return err
	}
	return c.jsonCall(ctx, apiwire.PublishCRL.Method, apiwire.PublishCRL.Path(), apiwire.PublishCRLRequest{CRL: string(pki.CRLPEM(l.Raw))}, http.StatusCreated, nil)
}

// Registry returns c as the device registry of a provisioning flow.
func (c *Client) Registry() provision.Registry { return provision.APIRegistry{API: c} }

// DeviceRoot is a device CA root registered as a trust anchor of a
// product: boards and production packages of the product must chain to one.
type DeviceRoot = apiwire.DeviceRoot

// DeviceRoots lists a product's trust anchors, revoked ones included.
func (c *Client) DeviceRoots(ctx context.Context, product string) ([]DeviceRoot, error) {
	var out apiwire.DeviceRootList
	err := c.jsonCall(ctx, apiwire.ListDeviceRoots.Method, apiwire.ListDeviceRoots.Path(product), nil, http.StatusOK, &out)
	return out.Roots, err
}

// AddDeviceRoot registers a device CA root (PEM) as a trust anchor of
// product. It needs an engineer's or administrator's account.
func (c *Client) AddDeviceRoot(ctx context.Context, product, certPEM, comment string) (*DeviceRoot, error) {
	var out DeviceRoot
	err := c.jsonCall(ctx, apiwire.AddDeviceRoot.Method, apiwire.AddDeviceRoot.Path(product),
		apiwire.AddDeviceRootRequest{Certificate: certPEM, Comment: comment}, http.StatusCreated, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// EFusesReport is what RecordEFuses sends: an ESP32 board's MAC and eFuse
// security state.
type EFusesReport = apiwire.EFusesReport

// RecordEFuses creates or updates an ESP32 board's registry entry, whose
// id is its MAC's hex digits.
func (c *Client) RecordEFuses(ctx context.Context, r EFusesReport) (Device, error) {
	var d Device
	rt := apiwire.RecordEFuses
	err := c.jsonCall(ctx, rt.Method, rt.Path(apiwire.EFusesID(r.MAC)), r, anyOK, &d)
	return d, err
}
