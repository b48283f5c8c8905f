package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"trustforge/crypto/production"
	"trustforge/internal/stride"
	"trustforge/server/auth"
	"trustforge/server/store"
)

// productSummary serves the facts of a product's security plan
// (internal/stride.ServerFacts): its keys, releases, devices, production
// orders, the server's accounts, audit log and limits. It returns counts
// and public fingerprints only.
func (s *Server) productSummary(w http.ResponseWriter, r *http.Request, p *principal) error {
	ctx := r.Context()
	prod, err := s.store.Product(ctx, r.PathValue("product"))
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	f := stride.ServerFacts{Generated: now.UTC(), HTTPS: secureContext(r)}
	for _, part := range []func(context.Context, store.Product, time.Time, *stride.ServerFacts) error{
		s.keyFacts, s.releaseFacts, s.deviceFacts, s.productionFacts, s.accountFacts, s.auditFacts,
	} {
		if err := part(ctx, prod, now, &f); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

// keyFacts counts the product's signing keys; devices' boot keys are
// matched against the fingerprints it lists, so it runs first.
func (s *Server) keyFacts(ctx context.Context, prod store.Product, _ time.Time, f *stride.ServerFacts) error {
	ks, err := s.store.Keys(ctx, prod.Name)
	if err != nil {
		return err
	}
	algs := map[string]bool{}
	for _, k := range ks {
		if !k.Revoked.IsZero() {
			f.Keys.Revoked++
			continue
		}
		f.Keys.Active++
		f.Keys.Fingerprints = append(f.Keys.Fingerprints, k.Fingerprint)
		if !algs[k.Algorithm] {
			algs[k.Algorithm] = true
			f.Keys.Algorithms = append(f.Keys.Algorithms, k.Algorithm)
		}
	}
	return nil
}

// releaseFacts counts the product's releases, their signers, uploaders and
// recipients, from what the store kept of their manifests at publish.
func (s *Server) releaseFacts(ctx context.Context, prod store.Product, _ time.Time, f *stride.ServerFacts) error {
	st, err := s.store.ReleaseStats(ctx, prod.Name)
	if err != nil {
		return err
	}
	f.Releases.Channels = len(prod.Channels)
	f.Releases.Total, f.Releases.Yanked, f.Releases.WithCounter, f.Releases.Passphrase = st.Total, st.Yanked, st.WithCounter, st.Passphrase
	f.Releases.Signers, f.Releases.Uploaders, f.Releases.Recipients = st.Signers, st.Uploaders, st.Recipients
	return nil
}

// deviceFacts counts the product's registered boards, their keys, roots
// and revocations, the boards built from production orders and their
// recorded updates.
func (s *Server) deviceFacts(ctx context.Context, prod store.Product, _ time.Time, f *stride.ServerFacts) error {
	st, err := s.store.DeviceStats(ctx, prod.Name)
	if err != nil {
		return err
	}
	f.Devices.Total, f.Devices.Revoked, f.Devices.WithEncryptionKey, f.Devices.Roots = st.Total, st.Revoked, st.WithEncryptionKey, st.Roots
	for hash, n := range st.BootKeys {
		f.Devices.WithBootKey += n
		if slices.Contains(f.Keys.Fingerprints, hash) {
			f.Devices.WithRegisteredBootKey += n
		}
	}
	for _, iss := range st.Issuers {
		if _, err := s.store.CRL(ctx, iss); err == nil {
			f.Devices.CRLPublished = true
			break
		}
	}
	if f.Devices.FromBatches, f.Devices.WithTicket, err = s.store.BatchDevices(ctx, prod.Name); err != nil {
		return err
	}
	f.Devices.Updates, err = s.store.CountAudit(ctx, "device.update", "product", prod.Name)
	return err
}

// productionFacts counts the product's production orders and reads the
// newest one's provisioning profile.
func (s *Server) productionFacts(ctx context.Context, prod store.Product, now time.Time, f *stride.ServerFacts) error {
	pkgs, err := s.store.ListPackages(ctx, prod.Name)
	if err != nil {
		return err
	}
	f.Production.MaxBlock = MaxTicketBlock
	for i, pk := range pkgs {
		f.Production.Packages++
		f.Production.Issued += pk.Issued
		f.Production.Refused += pk.Refused
		if !now.Before(pk.NotBefore) && now.Before(pk.Expires) {
			f.Production.Open++
			f.Production.Authorised += pk.Count
		}
		if pk.ImageMode == string(production.ImageClear) {
			f.Production.ClearImages++
		}
		if i == 0 { // the newest
			var m production.Manifest
			if json.Unmarshal(pk.ManifestJSON, &m) == nil {
				f.Production.Profile = &stride.ProfileFacts{BootKeyHash: m.Profile.BootKeyHash, EncryptImages: m.Profile.EncryptImages,
					LeaveUnlocked: m.Profile.LeaveUnlocked, CRLURL: m.Profile.Template.CRLURL, Source: "package"}
			}
		}
	}
	return nil
}

// accountFacts counts the server's accounts by role, and its live API
// tokens.
func (s *Server) accountFacts(ctx context.Context, _ store.Product, now time.Time, f *stride.ServerFacts) error {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Disabled {
			f.Accounts.Disabled++
			continue
		}
		for _, c := range []struct {
			role store.Role
			n    *int
		}{{store.RoleAdmin, &f.Accounts.Admins}, {store.RoleEngineer, &f.Accounts.Engineers},
			{store.RoleTechnician, &f.Accounts.Technicians}, {store.RoleStation, &f.Accounts.Stations}} {
			if u.Roles.Has(c.role) {
				*c.n++
			}
		}
		if u.Roles.Has(store.RoleAdmin) && u.Roles.Has(store.RoleEngineer) {
			f.Accounts.AdminEngineers++
		}
	}
	tokens, err := s.store.ListTokens(ctx, "")
	if err != nil {
		return err
	}
	for _, t := range tokens {
		if t.Expires.IsZero() {
			f.Accounts.Tokens++
			f.Accounts.NeverExpire++
		} else if now.Before(t.Expires) {
			f.Accounts.Tokens++
		}
	}
	return nil
}

// auditFacts gives the audit log's head and the server's limits.
func (s *Server) auditFacts(ctx context.Context, _ store.Product, _ time.Time, f *stride.ServerFacts) error {
	head, err := s.store.AuditHead(ctx)
	if err != nil {
		return err
	}
	f.Audit = stride.AuditFacts{Entries: head.Seq, Head: strconv.FormatUint(head.Seq, 10) + " " + head.Hash.String()}
	f.Limits = stride.LimitFacts{MaxUpload: s.cfg.MaxUpload, MaxJSON: s.maxJSONBody}
	if pol, ok := s.signIns.(*auth.SignInPolicy); ok {
		f.Limits.SignInPerUser, f.Limits.SignInPerAddress = pol.Bursts()
	}
	return nil
}

// secureContext reports whether the request reached the console in a
// context browsers treat as secure: TLS, or a loopback host.
func secureContext(r *http.Request) bool {
	if r.TLS != nil || strings.HasPrefix(strings.ToLower(r.Header.Get("Origin")), "https://") {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
