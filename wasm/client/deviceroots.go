package client

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"

	"trustforge/crypto/pki"
	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
)

// ErrRootRevoked reports that EnsureDeviceRoot found the root registered
// but revoked: undoing a revocation is an administrator's deliberate
// decision, never a side effect of provisioning.
var ErrRootRevoked = usererr.New("client", "this device CA's root was revoked as a trust anchor")

// DeviceRoots lists a product's trust anchors, revoked ones included.
func (c *Client) DeviceRoots(ctx context.Context, product string) ([]DeviceRoot, error) {
	var out apiwire.DeviceRootList
	err := c.call(ctx, apiwire.ListDeviceRoots.Method, apiwire.ListDeviceRoots.Path(product), nil, &out)
	return out.Roots, err
}

// AddDeviceRoot registers root as a trust anchor of product: an
// engineer's or administrator's decision, audited by the server.
func (c *Client) AddDeviceRoot(ctx context.Context, product string, root *x509.Certificate, comment string) (DeviceRoot, error) {
	var out DeviceRoot
	err := c.call(ctx, apiwire.AddDeviceRoot.Method, apiwire.AddDeviceRoot.Path(product),
		apiwire.AddDeviceRootRequest{Certificate: string(pki.CertPEM(root)), Comment: comment}, &out)
	return out, err
}

// EnsureDeviceRoot registers root as a trust anchor of product unless it
// is one already, and reports whether it registered it. A root that was
// registered and then revoked is not registered again: that takes an
// administrator's deliberate decision, and the error says so.
func (c *Client) EnsureDeviceRoot(ctx context.Context, product string, root *x509.Certificate, comment string) (bool, error) {
	rs, err := c.DeviceRoots(ctx, product)
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256(root.Raw)
	fp := hex.EncodeToString(sum[:])
	for _, r := range rs {
		if r.Fingerprint == fp {
			if r.Revoked != nil {
				return false, usererr.Errorf("", "%w of %s by %s", ErrRootRevoked, product, r.RevokedBy)
			}
			return false, nil
		}
	}
	if _, err := c.AddDeviceRoot(ctx, product, root, comment); err != nil {
		return false, err
	}
	return true, nil
}

// RevokeDeviceRoot revokes the root whose fingerprint (hex SHA-256 of the
// certificate) is given as a trust anchor of product: an engineer's or
// administrator's decision, audited by the server. From then on the
// server refuses the product's boards and production packages that chain
// only to that root; boards already registered stay. A revoked root is
// not registered again.
func (c *Client) RevokeDeviceRoot(ctx context.Context, product, fingerprint string) error {
	return c.call(ctx, apiwire.RevokeDeviceRoot.Method, apiwire.RevokeDeviceRoot.Path(product, fingerprint), nil, nil)
}
