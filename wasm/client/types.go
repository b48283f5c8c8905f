package client

import (
	"encoding/json"
	"time"
)

// Session is who is signed in.
type Session struct {
	User      string     `json:"user"`
	Role      string     `json:"role"` // admin, engineer, technician, station
	CSRFToken string     `json:"csrf_token,omitempty"`
	Expires   *time.Time `json:"expires,omitempty"`
	Via       string     `json:"via"` // "session" or "token"
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
	Role      string    `json:"role"`
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
