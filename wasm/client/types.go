package client

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Session is who is signed in.
type Session struct {
	User      string     `json:"user"`
	Roles     []string   `json:"roles"` // some of admin, engineer, technician, station
	Role      string     `json:"role"`  // the roles joined by commas (older servers: one role)
	CSRFToken string     `json:"csrf_token,omitempty"`
	Expires   *time.Time `json:"expires,omitempty"`
	Via       string     `json:"via"` // "session" or "token"
}

// RoleSet returns the roles the account holds.
func (s Session) RoleSet() []string { return roleSet(s.Roles, s.Role) }

// Has reports whether the account holds role.
func (s Session) Has(role string) bool { return slices.Contains(s.RoleSet(), role) }

// roleSet reads a roles list, or the older comma-joined role field.
func roleSet(roles []string, role string) []string {
	if len(roles) > 0 {
		return roles
	}
	if role == "" {
		return nil
	}
	return strings.Split(role, ",")
}

// User is an account, as an administrator sees it.
type User struct {
	Name        string    `json:"name"`
	Roles       []string  `json:"roles"`
	Role        string    `json:"role"` // the roles joined by commas
	HasPassword bool      `json:"has_password"`
	Disabled    bool      `json:"disabled"`
	Created     time.Time `json:"created"`
}

// RoleSet returns the roles the account holds.
func (u User) RoleSet() []string { return roleSet(u.Roles, u.Role) }

// Token is an API token; Secret is set only in the answer that creates it.
type Token struct {
	ID      string     `json:"id"`
	User    string     `json:"user"`
	Name    string     `json:"name"`
	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires,omitempty"`
	Secret  string     `json:"token,omitempty"`
}

// Product is a registered product line.
type Product struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Channels    []string  `json:"channels"`
	Created     time.Time `json:"created"`
}

// Key is a release-signing public key registered for a product.
type Key struct {
	Product     string     `json:"product"`
	Fingerprint string     `json:"fingerprint"` // hex SHA-256 of the SPKI DER
	Algorithm   string     `json:"algorithm"`
	PublicKey   string     `json:"public_key"` // PEM
	Comment     string     `json:"comment,omitempty"`
	Added       time.Time  `json:"added"`
	AddedBy     string     `json:"added_by"`
	Revoked     *time.Time `json:"revoked,omitempty"`
}

// Recipient is an account's published age recipient.
type Recipient struct {
	User      string    `json:"user"`
	Roles     []string  `json:"roles"`
	Role      string    `json:"role"`      // the roles joined by commas
	Recipient string    `json:"recipient"` // "age1…"
	Updated   time.Time `json:"updated"`
}

// Yank says when and why a release was withdrawn.
type Yank struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

// Offer is a channel a release is offered on.
type Offer struct {
	Channel string    `json:"channel"`
	Added   time.Time `json:"added"`
	AddedBy string    `json:"added_by"`
}

// Release is the server's record of a release. Its fields are the
// server's claims: verify the signed manifest before relying on them.
type Release struct {
	ID              string          `json:"id"`
	Product         string          `json:"product"`
	Component       int             `json:"component"`
	Version         string          `json:"version"`
	SecurityCounter uint64          `json:"security_counter"`
	Channel         string          `json:"channel"`
	Offers          []Offer         `json:"offers"`
	Signer          string          `json:"signer"`
	PayloadSHA256   string          `json:"payload_sha256"`
	PayloadSize     int64           `json:"payload_size"`
	BundleSize      int64           `json:"bundle_size"`
	Uploaded        time.Time       `json:"uploaded"`
	UploadedBy      string          `json:"uploaded_by"`
	Yanked          *Yank           `json:"yanked,omitempty"`
	Manifest        json.RawMessage `json:"manifest"`
}

// OfferedOn reports whether the release is offered on channel.
func (r Release) OfferedOn(channel string) bool {
	for _, o := range r.Offers {
		if o.Channel == channel {
			return true
		}
	}
	return false
}

// RoleSet returns the roles of the recipient's account.
func (r Recipient) RoleSet() []string { return roleSet(r.Roles, r.Role) }

// Has reports whether the recipient's account holds role.
func (r Recipient) Has(role string) bool { return slices.Contains(r.RoleSet(), role) }
