package stride

import "time"

// Facts is a product's configuration as far as security goes: what
// Evaluate computes statuses from. The release server fills Server (its
// product summary endpoint returns exactly that JSON); the console that
// holds the product's device CA fills Profile. A nil part is unknown, and
// the threats that depend on it are reported as Unknown.
type Facts struct {
	// Product names the product.
	Product string `json:"product"`
	// Server is what the release server knows of the product.
	Server *ServerFacts `json:"server,omitempty"`
	// Profile is the product's provisioning profile, from the console
	// that holds its device CA; nil when this browser holds none. When it
	// is nil, Evaluate falls back on the profile the latest production
	// package declared (ServerFacts.Production.Profile).
	Profile *ProfileFacts `json:"profile,omitempty"`
}

// ServerFacts is the release server's summary of one product.
type ServerFacts struct {
	// Generated is when the summary was made.
	Generated time.Time `json:"generated"`
	// HTTPS reports that the console is served over https (or loopback,
	// which browsers treat as a secure context).
	HTTPS bool `json:"https"`
	// Keys are the product's release-signing keys.
	Keys KeyFacts `json:"keys"`
	// Releases are the product's releases.
	Releases ReleaseFacts `json:"releases"`
	// Devices is the device registry's view of the product.
	Devices DeviceFacts `json:"devices"`
	// Production is the product's production orders.
	Production ProductionFacts `json:"production"`
	// Accounts are the server's accounts, by role.
	Accounts AccountFacts `json:"accounts"`
	// Audit is the audit log's state.
	Audit AuditFacts `json:"audit"`
	// Limits are the server's protections against floods.
	Limits LimitFacts `json:"limits"`
}

// KeyFacts describe a product's registered release-signing keys.
type KeyFacts struct {
	// Active counts the keys that may sign new releases.
	Active int `json:"active"`
	// Revoked counts the keys that may not.
	Revoked int `json:"revoked"`
	// Fingerprints are the active keys' fingerprints (hex SHA-256 of
	// their SubjectPublicKeyInfo, MCUboot's KEYHASH).
	Fingerprints []string `json:"fingerprints"`
	// Algorithms are the active keys' algorithms, e.g. "ed25519".
	Algorithms []string `json:"algorithms"`
}

// ReleaseFacts describe a product's releases.
type ReleaseFacts struct {
	// Total counts the releases ever published, yanked ones included.
	Total int `json:"total"`
	// Yanked counts the withdrawn ones.
	Yanked int `json:"yanked"`
	// WithCounter counts the releases carrying a security counter (the
	// image's SEC_CNT), which the bootloader uses against rollback.
	WithCounter int `json:"with_counter"`
	// Passphrase counts the releases whose payload opens with a
	// passphrase rather than age recipients.
	Passphrase int `json:"passphrase"`
	// Signers counts the distinct keys that signed releases.
	Signers int `json:"signers"`
	// Uploaders counts the distinct accounts that published releases.
	Uploaders int `json:"uploaders"`
	// Recipients counts the distinct age recipients releases are
	// encrypted to.
	Recipients int `json:"recipients"`
	// Channels counts the product's channels.
	Channels int `json:"channels"`
}

// DeviceFacts describe a product's registered devices.
type DeviceFacts struct {
	// Total counts the registered devices, revoked ones included.
	Total int `json:"total"`
	// Revoked counts the revoked ones.
	Revoked int `json:"revoked"`
	// WithBootKey counts the devices registered with a fused boot key hash.
	WithBootKey int `json:"with_boot_key"`
	// WithRegisteredBootKey counts those whose fused boot key is one of
	// the product's active release keys.
	WithRegisteredBootKey int `json:"with_registered_boot_key"`
	// WithEncryptionKey counts the devices that hold an image encryption
	// key, so that releases can be encrypted to each of them.
	WithEncryptionKey int `json:"with_encryption_key"`
	// Roots counts the distinct root certificates the devices chain to
	// (the registry pins the first).
	Roots int `json:"roots"`
	// FromBatches counts the devices certified by a production batch CA.
	FromBatches int `json:"from_batches"`
	// WithTicket counts those whose certificate carries a production
	// ticket the server issued for them.
	WithTicket int `json:"with_ticket"`
	// CRLPublished reports that a revocation list was published for the
	// product's devices.
	CRLPublished bool `json:"crl_published"`
	// Updates counts the device update records in the audit log.
	Updates int `json:"updates"`
}

// ProductionFacts describe a product's production orders.
type ProductionFacts struct {
	// Packages counts the production packages uploaded.
	Packages int `json:"packages"`
	// Open counts those not yet expired.
	Open int `json:"open"`
	// Authorised is the devices the open packages allow in all.
	Authorised int `json:"authorised"`
	// Issued counts the production tickets issued for them.
	Issued int `json:"issued"`
	// Refused counts the ticket requests refused (count reached, expired).
	Refused int `json:"refused"`
	// MaxBlock is the largest block of tickets a station may fetch ahead
	// for offline work.
	MaxBlock int `json:"max_block"`
	// ClearImages counts the packages whose image is programmed in the
	// clear rather than encrypted to each device.
	ClearImages int `json:"clear_images"`
	// Profile is the provisioning profile the latest package declared;
	// nil when there is none.
	Profile *ProfileFacts `json:"profile,omitempty"`
}

// AccountFacts count the server's accounts. An account holding several
// roles counts once in each of them.
type AccountFacts struct {
	Admins      int `json:"admins"`
	Engineers   int `json:"engineers"`
	Technicians int `json:"technicians"`
	Stations    int `json:"stations"`
	// AdminEngineers counts the enabled accounts that both administer and
	// publish (engineers publish every product's releases).
	AdminEngineers int `json:"admin_engineers"`
	// Disabled counts the disabled accounts (not in the counts above).
	Disabled int `json:"disabled"`
	// Tokens counts the live API tokens, and NeverExpire those of them
	// without an expiry.
	Tokens      int `json:"tokens"`
	NeverExpire int `json:"never_expire"`
}

// AuditFacts describe the audit log.
type AuditFacts struct {
	// Entries counts the log's entries.
	Entries uint64 `json:"entries"`
	// Head is the recorded head, "SEQ HASH".
	Head string `json:"head"`
}

// LimitFacts are the server's limits on requests.
type LimitFacts struct {
	// MaxUpload bounds a release or package upload, in bytes.
	MaxUpload int64 `json:"max_upload"`
	// MaxJSON bounds a JSON request body, in bytes.
	MaxJSON int64 `json:"max_json"`
	// SignInPerUser (per account and client address) and
	// SignInPerAddress are the sign-in attempts allowed in a burst before
	// the rate limit applies.
	SignInPerUser    int `json:"sign_in_per_user"`
	SignInPerAddress int `json:"sign_in_per_address"`
}

// ProfileFacts describe a product's provisioning profile (crypto/pki's
// Profile).
type ProfileFacts struct {
	// BootKeyHash is the hex SHA-256 of the boot key fused into each
	// board; empty leaves the boards' boot key unprovisioned.
	BootKeyHash string `json:"boot_key_hash,omitempty"`
	// EncryptImages makes each board generate an image encryption key, so
	// that images are encrypted to each board.
	EncryptImages bool `json:"encrypt_images"`
	// LeaveUnlocked skips locking the boards after provisioning.
	LeaveUnlocked bool `json:"leave_unlocked"`
	// CRLURL is the revocation list's distribution point put in device
	// certificates, or empty.
	CRLURL string `json:"crl_url,omitempty"`
	// Source says where the profile came from: "console" (this browser's
	// device CA) or "package" (the latest production package).
	Source string `json:"source,omitempty"`
}
