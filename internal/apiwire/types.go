package apiwire

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"trustforge/crypto/keys"
	"trustforge/devices/esprom"
)

// Session is who is signed in: the answer to GetSession and SignIn.
type Session struct {
	User      string     `json:"user"`
	Roles     Roles      `json:"roles"`
	Role      string     `json:"role"` // the roles joined by commas (older servers: one role)
	CSRFToken string     `json:"csrf_token,omitempty"`
	Expires   *time.Time `json:"expires,omitempty"`
	Via       string     `json:"via"` // "session" or "token"
}

// RoleSet returns the roles the account holds.
func (s Session) RoleSet() Roles { return roleSet(s.Roles, s.Role) }

// Has reports whether the account holds role.
func (s Session) Has(role Role) bool { return slices.Contains(s.RoleSet(), role) }

// roleSet reads a roles list, or the older comma-joined role field.
func roleSet(roles Roles, role string) Roles {
	if len(roles) > 0 {
		return roles
	}
	if role == "" {
		return nil
	}
	var out Roles
	for _, r := range strings.Split(role, ",") {
		out = append(out, Role(r))
	}
	return out
}

// User is an account, as an administrator sees it.
type User struct {
	Name        string    `json:"name"`
	Roles       Roles     `json:"roles"`
	Role        string    `json:"role"` // the roles joined by commas
	HasPassword bool      `json:"has_password"`
	Disabled    bool      `json:"disabled"`
	Created     time.Time `json:"created"`
}

// RoleSet returns the roles the account holds.
func (u User) RoleSet() Roles { return roleSet(u.Roles, u.Role) }

// Token is an API token's record; Secret is set only in the answer that
// creates it.
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
	Roles     Roles     `json:"roles"`
	Role      string    `json:"role"`      // the roles joined by commas
	Recipient string    `json:"recipient"` // "age1…"
	Updated   time.Time `json:"updated"`
}

// RoleSet returns the roles of the recipient's account.
func (r Recipient) RoleSet() Roles { return roleSet(r.Roles, r.Role) }

// Has reports whether the recipient's account holds role.
func (r Recipient) Has(role Role) bool { return slices.Contains(r.RoleSet(), role) }

// Yank says when, by whom and why a release was withdrawn, or a board's
// certificate revoked.
type Yank struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

// Offer says a release is offered on a channel.
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

// Device is a provisioned board in the device registry.
type Device struct {
	ID                       string    `json:"id"`
	Product                  string    `json:"product"`
	Model                    string    `json:"model"`
	Rev                      string    `json:"rev"`
	Serial                   string    `json:"serial"`
	Issuer                   string    `json:"issuer"`
	Subject                  string    `json:"subject"`
	Chain                    string    `json:"chain"` // PEM: device certificate, intermediate, root
	Root                     string    `json:"root"`
	EncryptionKey            string    `json:"encryption_key,omitempty"` // PEM X25519 public key
	EncryptionKeyFingerprint string    `json:"encryption_key_fingerprint,omitempty"`
	BootKeyHash              string    `json:"boot_key_hash,omitempty"`
	Provisioned              time.Time `json:"provisioned"`
	Operator                 string    `json:"operator"`
	Revoked                  *Yank     `json:"revoked,omitempty"`
	// MAC and EFuses are an ESP32 board's factory MAC and eFuse security
	// state, as last recorded by RecordEFuses (at EFusesUpdated); empty for
	// other boards.
	MAC           string                `json:"mac,omitempty"`
	EFuses        *esprom.SecurityState `json:"efuses,omitempty"`
	EFusesUpdated *time.Time            `json:"efuses_updated,omitempty"`
}

// EFusesID is the registry id of an ESP32 board known by its MAC
// ("58:cf:79:00:00:01"): the MAC's 12 hex digits.
func EFusesID(mac string) string { return strings.ReplaceAll(mac, ":", "") }

// PublicEncryptionKey parses the board's X25519 image encryption key: the
// key a release image is encrypted to for this one board.
func (d Device) PublicEncryptionKey() (*keys.PublicKey, error) {
	if d.EncryptionKey == "" {
		return nil, fmt.Errorf("apiwire: device %s has no image encryption key", d.ID)
	}
	k, err := keys.ParsePublicKey([]byte(d.EncryptionKey))
	if err != nil {
		return nil, err
	}
	if k.Algorithm() != keys.X25519 {
		return nil, fmt.Errorf("apiwire: device %s's encryption key is %s, not x25519", d.ID, k.Algorithm())
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

// EFusesReport is what RecordEFuses sends: an ESP32 board's MAC and eFuse
// security state, as the console reads them while it provisions the board.
// The route's id is EFusesID(MAC).
type EFusesReport struct {
	Product string               `json:"product"`
	Model   string               `json:"model,omitempty"` // the chip, e.g. ESP32-C3
	Rev     string               `json:"rev,omitempty"`   // its revision, e.g. v0.4
	MAC     string               `json:"mac"`             // the factory MAC, lowercase, colon-separated
	EFuses  esprom.SecurityState `json:"efuses"`
}

// DeviceRoot is a device CA root registered as a trust anchor of a
// product: the server accepts the product's boards and production packages
// only when they chain to one of its active roots.
type DeviceRoot struct {
	Product     string     `json:"product"`
	Fingerprint string     `json:"fingerprint"` // hex SHA-256 of the certificate
	Subject     string     `json:"subject"`
	Certificate string     `json:"certificate"` // PEM
	Comment     string     `json:"comment,omitempty"`
	Added       time.Time  `json:"added"`
	AddedBy     string     `json:"added_by"`
	Revoked     *time.Time `json:"revoked,omitempty"`
	RevokedBy   string     `json:"revoked_by,omitempty"`
}

// CRLInfo is the answer to PublishCRL: the revocation list the server
// now serves for its issuer.
type CRLInfo struct {
	Issuer     string    `json:"issuer"`
	Number     string    `json:"number"`
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update"`
	Revoked    int       `json:"revoked"` // certificates it lists
	Uploaded   time.Time `json:"uploaded"`
	UploadedBy string    `json:"uploaded_by"`
}

// UpdateRecorded is the answer to RecordDeviceUpdate: the id the update
// record is audited under.
type UpdateRecorded struct {
	ID string `json:"id"`
}
