package provision

import (
	"context"
	"errors"
	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
)

// The release server's device registry speaks the API contract's types;
// the two API clients (the server's Go client and the console's) make it a
// [Registry] with these.

// FindDevice returns the entry of ds whose id is exactly id, or nil: a
// registry search matches ids by substring.
func FindDevice(ds []apiwire.Device, id string) *apiwire.Device {
	var d *apiwire.Device
	for i := range ds {
		if ds[i].ID == id {
			d = &ds[i]
		}
	}
	return d
}

// FromWire returns the registry's entry d as a provisioning flow reads it.
func FromWire(d *apiwire.Device) (*Registered, error) {
	chain, err := pki.ParseChain([]byte(d.Chain))
	if err != nil {
		return nil, usererr.Errorf("provision", "the registry's chain of %s: %w", d.ID, err)
	}
	reg := &Registered{Record: Record{DeviceID: d.ID, Product: d.Product, Model: d.Model, Rev: d.Rev,
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

// ToWire returns rec as the registry API takes it: public material only,
// PEM-encoded.
func ToWire(rec Record) (apiwire.DeviceRegistration, error) {
	chain, err := pki.ParseChain(rec.Chain)
	if err != nil {
		return apiwire.DeviceRegistration{}, err
	}
	reg := apiwire.DeviceRegistration{ID: rec.DeviceID, Product: rec.Product, Model: rec.Model, Rev: rec.Rev,
		Chain: string(chain.PEM()), BootKeyHash: rec.BootKeyHash}
	if rec.EncryptionKey != nil {
		k, err := keys.ParseSPKI(rec.EncryptionKey)
		if err != nil {
			return apiwire.DeviceRegistration{}, err
		}
		reg.EncryptionKey = string(k.MarshalPEM())
	}
	return reg, nil
}

// DeviceAPI is the part of the release server's device API a registry
// uses; both API clients (the server's Go client and the console's) have
// it.
type DeviceAPI interface {
	// Devices lists the registry's entries the filter selects.
	Devices(ctx context.Context, f apiwire.DeviceFilter) ([]apiwire.Device, error)
	// RegisterDevice registers a board; the server answers
	// apiwire.CodeDeviceRegistered for an id it already holds.
	RegisterDevice(ctx context.Context, reg apiwire.DeviceRegistration) (apiwire.Device, error)
}

// APIRegistry is a [Registry] over the release server's device API.
type APIRegistry struct {
	API DeviceAPI
}

// searchLimit bounds a registry search by id: ids match by substring, so
// a short id may match several boards.
const searchLimit = 1000

// Lookup searches rather than asking for the id: a board not registered
// yet is the usual case, not an error (nor a 404 in the browser's console).
func (r APIRegistry) Lookup(ctx context.Context, id string) (*Registered, error) {
	ds, err := r.API.Devices(ctx, apiwire.DeviceFilter{Query: id, Revoked: true, Limit: searchLimit})
	if err != nil {
		return nil, err
	}
	d := FindDevice(ds, id)
	if d == nil {
		return nil, nil
	}
	return FromWire(d)
}

// Register adds rec to the registry; an id the registry holds already is
// [ErrClone].
func (r APIRegistry) Register(ctx context.Context, rec Record) error {
	reg, err := ToWire(rec)
	if err != nil {
		return err
	}
	_, err = r.API.RegisterDevice(ctx, reg)
	if errors.Is(err, apiwire.CodeDeviceRegistered) {
		return usererr.Errorf("", "%w: %w", ErrClone, err)
	}
	return err
}
