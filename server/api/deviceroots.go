package api

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"trustforge/crypto/audit"
	"trustforge/crypto/pki"
	"trustforge/internal/apiwire"
	"trustforge/server/store"
)

// A product's trust anchors: the device CA roots its boards must chain to.
// Registering one is an administrator's or engineer's decision, audited
// like registering a release-signing key; stations cannot make it, and no
// registration of a board can make it implicitly. A product may have more
// than one active root while its CA is rotated; revoking a root stops it
// anchoring new boards and production packages (boards already registered
// stay in the registry).

type addDeviceRootRequest apiwire.AddDeviceRootRequest

func (q *addDeviceRootRequest) validate() error {
	if strings.Contains(q.Certificate, "PRIVATE KEY") {
		return errorf(http.StatusBadRequest, apiwire.CodePrivateKey, "certificate: a private key was sent; register only the root's certificate")
	}
	if q.Certificate == "" || len(q.Certificate) > maxKeyPEM {
		return badField("certificate", "required, a PEM certificate of at most %d bytes", maxKeyPEM)
	}
	if len(q.Comment) > maxCommentLen {
		return badField("comment", "longer than %d bytes", maxCommentLen)
	}
	return nil
}

func deviceRootOut(r store.DeviceRoot) apiwire.DeviceRoot {
	out := apiwire.DeviceRoot{Product: r.Product, Fingerprint: r.Fingerprint, Subject: r.Subject, Comment: r.Comment,
		Added: r.Added, AddedBy: r.AddedBy, RevokedBy: r.RevokedBy}
	if c, err := x509.ParseCertificate(r.Cert); err == nil {
		out.Certificate = string(pki.CertPEM(c))
	}
	if r.IsRevoked() {
		out.Revoked = &r.Revoked
	}
	return out
}

// parseRoot reads one self-signed CA certificate from PEM.
func parseRoot(text string) (*x509.Certificate, error) {
	chain, err := pki.ParseChain([]byte(text))
	if err != nil {
		return nil, badField("certificate", "%v", err)
	}
	if len(chain) != 1 {
		return nil, badField("certificate", "%d certificates; send the root CA's alone", len(chain))
	}
	c := chain[0]
	if !c.IsCA || !c.BasicConstraintsValid {
		return nil, badField("certificate", "%q is not a CA certificate", c.Subject.String())
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		return nil, badField("certificate", "%q is not a self-signed root: %v", c.Subject.String(), err)
	}
	return c, nil
}

func (s *Server) listDeviceRoots(w http.ResponseWriter, r *http.Request, p *principal) error {
	name := r.PathValue("product")
	if _, err := s.store.Product(r.Context(), name); err != nil {
		return err
	}
	rs, err := s.store.DeviceRoots(r.Context(), name)
	if err != nil {
		return err
	}
	out := make([]apiwire.DeviceRoot, 0, len(rs))
	for _, rt := range rs {
		out = append(out, deviceRootOut(rt))
	}
	writeJSON(w, http.StatusOK, apiwire.DeviceRootList{Roots: out})
	return nil
}

func (s *Server) addDeviceRoot(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q addDeviceRootRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	c, err := parseRoot(q.Certificate)
	if err != nil {
		return err
	}
	product := r.PathValue("product")
	rt := store.DeviceRoot{Product: product, Fingerprint: hexSHA256(c.Raw), Subject: c.Subject.String(), Cert: c.Raw,
		Comment: q.Comment, Added: s.cfg.Now(), AddedBy: p.user.Name}
	ev := s.event(p, "device_root.add", product+"/"+rt.Fingerprint, map[string]string{"subject": rt.Subject, "comment": rt.Comment})
	if err := s.store.AddDeviceRoot(r.Context(), rt, ev); err != nil {
		if errors.Is(err, store.ErrExists) {
			return errorf(http.StatusConflict, apiwire.CodeRootRegistered, "%s", trim(err))
		}
		return err
	}
	writeJSON(w, http.StatusCreated, deviceRootOut(rt))
	return nil
}

func (s *Server) revokeDeviceRoot(w http.ResponseWriter, r *http.Request, p *principal) error {
	product, fp := r.PathValue("product"), r.PathValue("fingerprint")
	ev := s.event(p, "device_root.revoke", product+"/"+fp, nil)
	if err := s.store.RevokeDeviceRoot(r.Context(), product, fp, s.cfg.Now(), p.user.Name, ev); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// anchors returns a product's active trust anchors.
func (s *Server) anchors(ctx context.Context, product string) ([]*x509.Certificate, error) {
	rs, err := s.store.DeviceRoots(ctx, product)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, rt := range rs {
		if rt.IsRevoked() {
			continue
		}
		c, err := x509.ParseCertificate(rt.Cert)
		if err != nil {
			return nil, fmt.Errorf("api: stored device root %s unreadable: %w", rt.Fingerprint, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// checkAnchor checks that root is an active trust anchor of product; what
// names what is being checked, for the error.
func (s *Server) checkAnchor(ctx context.Context, product string, root *x509.Certificate, what string) error {
	as, err := s.anchors(ctx, product)
	if err != nil {
		return err
	}
	if len(as) == 0 {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeNoTrustAnchor,
			"%s has no registered device root: an engineer or administrator registers the device CA's root for it first (Identity page, or POST /api/products/%s/device-roots)", product, product)
	}
	if !slices.ContainsFunc(as, func(c *x509.Certificate) bool { return c.Equal(root) }) {
		return errorf(http.StatusUnprocessableEntity, apiwire.CodeUntrustedCA, "%s ends at %q, which is not a registered device root of %s",
			what, root.Subject.String(), product)
	}
	return nil
}

// adoptPinnedRoots carries data from before trust anchors were registered
// over: a product with registered boards and no registered root gets the
// root its first board chains to, the one the server used to pin
// implicitly. The adoption is audited; an administrator who finds it
// wrong revokes it.
func (s *Server) adoptPinnedRoots(ctx context.Context) error {
	ps, err := s.store.ListProducts(ctx)
	if err != nil {
		return err
	}
	for _, pr := range ps {
		rs, err := s.store.DeviceRoots(ctx, pr.Name)
		if err != nil {
			return err
		}
		pinned, err := s.store.ProductRoot(ctx, pr.Name)
		if err != nil || len(rs) > 0 || pinned == "" {
			if err != nil {
				return err
			}
			continue
		}
		ds, err := s.store.ListDevices(ctx, store.DeviceFilter{Product: pr.Name, WithRevoked: true})
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.Root != pinned {
				continue
			}
			chain, err := pki.ParseChain(d.Chain)
			if err != nil {
				return err
			}
			root := chain[len(chain)-1]
			now := s.cfg.Now()
			rt := store.DeviceRoot{Product: pr.Name, Fingerprint: pinned, Subject: root.Subject.String(), Cert: root.Raw,
				Comment: "adopted on upgrade: the root of the product's first registered board", Added: now, AddedBy: "trustforge"}
			ev := audit.Event{Time: now, Actor: "trustforge", Action: "device_root.add", Subject: pr.Name + "/" + pinned,
				Detail: map[string]string{"subject": rt.Subject, "comment": rt.Comment, "via": "upgrade"}}
			if err := s.store.AddDeviceRoot(ctx, rt, ev); err != nil {
				return err
			}
			break
		}
	}
	return nil
}
