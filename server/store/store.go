// Package store keeps the release server's metadata: accounts, sessions and
// API tokens, products with their channels and release-signing public keys,
// releases, and the hash-chained audit log.
//
// Every change is made in one transaction together with the audit entry that
// records it, so the log and the state it describes cannot disagree, even
// after a crash. The store holds no secret that lets its reader act: it keeps
// argon2id password hashes and SHA-256 hashes of session and API tokens,
// public keys only, and of each release only its signed manifest and the
// digest of its encrypted payload (the payload itself lives in a blob store).
//
// Store is the interface the server consumes; SQLite implements it for a
// single machine, Postgres for any number of server instances sharing one
// PostgreSQL database. Both run one set of queries and pass one test suite.
package store

import (
	"context"
	"errors"
	"io"
	"time"

	"trustforge/crypto/audit"
)

// Errors callers branch on. Returned errors wrap them.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	// ErrConflict means the state a change was checked against has moved
	// (another release reached the channel first); check again and retry.
	ErrConflict = errors.New("store: concurrent change")
)

// User is an account.
type User struct {
	Name         string
	Roles        Roles  // at least one role
	PasswordHash string // argon2id, PHC string format; "" means no password sign-in
	Disabled     bool
	Created      time.Time
}

// Session is a signed-in browser session, known by the SHA-256 of its cookie.
type Session struct {
	Hash    []byte
	User    string
	Created time.Time
	Expires time.Time
}

// Token is an API token, known by the SHA-256 of its secret.
type Token struct {
	ID      string // public identifier, safe to show and log
	Hash    []byte
	User    string
	Name    string // what it is for, e.g. "ci"
	Created time.Time
	Expires time.Time // zero: never
}

// Product is a kind of board whose firmware the server keeps.
type Product struct {
	Name        string
	Description string
	Channels    []string
	Created     time.Time
}

// Key is a release-signing public key registered for a product.
type Key struct {
	Product     string
	Fingerprint string // as computed by crypto/bundle
	Algorithm   string
	PublicKey   []byte // PEM, public key only
	Comment     string
	Added       time.Time
	AddedBy     string
	Revoked     time.Time // zero: active
}

// Release is a published release bundle's metadata.
type Release struct {
	ID              string // hex SHA-256 of the signed manifest
	Product         string
	Image           int
	Version         string
	SecurityCounter uint64
	Channel         string // the channel the manifest was signed for
	Signer          string // fingerprint of the key that signed the manifest
	Manifest        []byte // the signed manifest (COSE_Sign1), as uploaded
	ManifestJSON    []byte // the decoded manifest as JSON
	Prefix          []byte // the bundle file's bytes before the payload
	PayloadDigest   [32]byte
	PayloadSize     int64
	Uploaded        time.Time
	UploadedBy      string
	Offers          []Offer // channels the release is offered on, first the one it was published to
	Yanked          time.Time
	YankedBy        string
	YankReason      string
}

// IsYanked reports whether the release was withdrawn.
func (r Release) IsYanked() bool { return !r.Yanked.IsZero() }

// Offer records that a release is offered on a channel.
type Offer struct {
	Channel string
	Added   time.Time
	AddedBy string
}

// Head is the highest release ever placed on a product image's channel,
// yanked or not: a new release must be above it. The zero Head is an empty
// channel.
type Head struct {
	Release         string
	Version         string
	SecurityCounter uint64
}

// Filter selects releases. Zero fields match everything.
type Filter struct {
	Product  string
	Channel  string // offered on this channel
	Version  string
	Image    *int
	WithYank bool // include yanked releases
	Limit    int  // zero: no limit
}

// Users keeps accounts, sign-in sessions, API tokens and the enrolment
// secret that creates the first administrator.
type Users interface {
	CountUsers(ctx context.Context) (int, error)
	CreateUser(ctx context.Context, u User, ev audit.Event) error
	User(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, u User, ev audit.Event) error

	// SetEnrolment replaces any enrolment secret by the one hashed as hash.
	SetEnrolment(ctx context.Context, hash []byte, expires time.Time, ev audit.Event) error
	// Enrol consumes a live enrolment secret and creates u, atomically; it
	// returns ErrNotFound for an unknown, used or expired secret.
	Enrol(ctx context.Context, hash []byte, now time.Time, u User, ev audit.Event) error

	CreateSession(ctx context.Context, s Session, ev audit.Event) error
	Session(ctx context.Context, hash []byte) (Session, error)
	DeleteSession(ctx context.Context, hash []byte, ev audit.Event) error

	CreateToken(ctx context.Context, t Token, ev audit.Event) error
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	Token(ctx context.Context, id string) (Token, error)
	// ListTokens lists a user's tokens, or everyone's for user "".
	ListTokens(ctx context.Context, user string) ([]Token, error)
	DeleteToken(ctx context.Context, id string, ev audit.Event) error
}

// Products keeps products, their channels and their signing keys.
type Products interface {
	CreateProduct(ctx context.Context, p Product, ev audit.Event) error
	Product(ctx context.Context, name string) (Product, error)
	ListProducts(ctx context.Context) ([]Product, error)
	AddChannel(ctx context.Context, product, channel string, ev audit.Event) error
	AddKey(ctx context.Context, k Key, ev audit.Event) error
	// Keys lists a product's keys, revoked ones included.
	Keys(ctx context.Context, product string) ([]Key, error)
	RevokeKey(ctx context.Context, product, fingerprint string, at time.Time, ev audit.Event) error
}

// Releases keeps release metadata and channel heads.
type Releases interface {
	ChannelHead(ctx context.Context, product string, image int, channel string) (Head, error)
	// PublishRelease stores r offered on r.Channel, provided the channel's
	// head is still expect (else ErrConflict), and makes r the new head.
	PublishRelease(ctx context.Context, r Release, expect Head, ev audit.Event) error
	// Promote offers a release on another channel, provided that channel's
	// head is still expect, and makes it the new head there.
	Promote(ctx context.Context, id string, o Offer, expect Head, ev audit.Event) error
	// Yank withdraws a release. It stays stored and listed for audit.
	Yank(ctx context.Context, id string, at time.Time, by, reason string, ev audit.Event) error
	Release(ctx context.Context, id string) (Release, error)
	ListReleases(ctx context.Context, f Filter) ([]Release, error)
	// ReleaseStats counts a product's releases, yanked ones included, and
	// the signers, uploaders and recipients of their manifests.
	ReleaseStats(ctx context.Context, product string) (ReleaseStats, error)
	// PayloadDigests lists the payload digest of every stored release and
	// production package: the blobs to keep.
	PayloadDigests(ctx context.Context) ([][32]byte, error)
}

// AuditLog reads the audit log. Entries are appended by the changes above.
type AuditLog interface {
	// AuditEntries calls fn for each entry after seq, in order.
	AuditEntries(ctx context.Context, after uint64, fn func(audit.Entry) error) error
	// AuditHead returns the head recorded with the last appended entry.
	AuditHead(ctx context.Context) (audit.Head, error)
	// Audit appends an entry that records no other change.
	Audit(ctx context.Context, ev audit.Event) error
}

// Store is the server's whole metadata store.
type Store interface {
	Users
	Products
	Releases
	Devices
	DeviceRoots
	Recipients
	Production
	AuditLog
	RateLimits
	Secrets
	BlobRefs
	io.Closer
}
