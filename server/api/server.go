// Package api is the trustforge release server's JSON API: accounts and
// sessions, products with their channels and release-signing keys, release
// upload, listing, download, promotion and yanking, and the audit log.
// docs/api.md documents every endpoint.
//
// Security properties:
//
//   - The server verifies releases but cannot read them: it keeps signed
//     manifests, age-encrypted payloads and public keys, never a plaintext
//     image or a private key.
//   - An upload is accepted only if its manifest is signed by an active key
//     registered for its product, its payload matches the manifest's size
//     and SHA-256, its product and channel are registered, and its version
//     is above (and its security counter not below) everything the channel
//     has held. Otherwise nothing is stored.
//   - A release, its blobs and its audit entry appear together or not at
//     all: payload blobs are committed (fsync, rename) before the metadata
//     transaction that lists them, and that transaction also appends the
//     audit entry.
//   - Every endpoint requires one permission of package auth; cookie
//     sessions must also present their CSRF token on state-changing
//     requests, and cross-site requests are refused outright.
package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"trustforge/crypto/audit"
	"trustforge/server/auth"
	"trustforge/server/blob"
	"trustforge/server/store"
)

// Config configures a Server. DataDir, or Store and Blobs, are required.
type Config struct {
	// DataDir holds the database and the blob directory. It is created if
	// missing. With Store and Blobs set it may be empty.
	DataDir string
	// Store, when set, is the metadata store instead of DataDir's SQLite
	// database: one that several server instances share (store.Postgres).
	// The server then keeps sign-in rate limits and its ticket key in it.
	// Close closes it.
	Store store.Store
	// Blobs, when set, is the blob store instead of DataDir/blobs, such as
	// a bucket several instances share (blob.S3).
	Blobs blob.Store
	// SecretKey (32 bytes) seals the secrets the server keeps in a shared
	// Store: the production ticket signing key. Required with Store.
	SecretKey []byte
	// BlobsRedirect, when positive and Blobs hands out presigned URLs
	// (blob.S3), answers payload downloads made with an API token
	// (GET /api/releases/{id}/payload) with a redirect to a URL of the
	// bucket valid this long, so the bytes bypass the server. Downloads
	// in a console session always stream through the server: the
	// console's Content-Security-Policy lets it connect to its own origin
	// only. Zero streams every download.
	BlobsRedirect time.Duration
	// GCGrace is how old an unreferenced blob of a shared Blobs store must
	// be before garbage collection deletes it: longer than any upload takes
	// between committing its payload and its metadata. Zero means one hour.
	GCGrace time.Duration
	// BaseURL is the console's address as users reach it, such as
	// "https://releases.example.com"; the first-start enrolment link is made
	// from it. Empty means links are printed as paths.
	BaseURL string
	// MaxUpload bounds a release upload in bytes. Zero means 2 GiB.
	MaxUpload int64
	// SessionTTL is how long a sign-in lasts. Zero means 12 hours.
	SessionTTL time.Duration
	// EnrolTTL is how long the first-start enrolment link stays valid. Zero
	// means 24 hours.
	EnrolTTL time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Rand is the source of every secret and salt. Nil means crypto/rand.
	Rand io.Reader
	// Log receives operator messages, among them the enrolment link. Nil
	// means os.Stderr.
	Log io.Writer

	// SignIn decides which sign-in attempts are tried. Nil means an
	// auth.SignInPolicy with its defaults, kept in memory.
	SignIn SignInLimiter

	// argon2 overrides the password hashing cost; tests make it cheap.
	argon2 *auth.Argon2Params
}

// Server serves the API. Mount it at /api/ without stripping the prefix:
// it routes on full paths such as /api/releases.
type Server struct {
	cfg    Config
	store  store.Store
	blobs  blob.Store
	unlock func() error
	mux    *http.ServeMux
	argon  auth.Argon2Params

	hashSlots   chan struct{} // bounds concurrent argon2id computations (memory)
	hashing     addrSlots     // bounds each client address's share of them
	signIns     SignInLimiter
	dummyHash   string // checked against when the user does not exist, to hide that
	maxJSONBody int64
	ticket      sharedKey // the ticket key from a shared store, once read
	gcStop      chan struct{}
	gcDone      chan struct{}
}

// Open opens (or initialises) the data directory and returns a Server. When
// no account exists yet it issues a one-time enrolment secret for the first
// administrator and writes its link to cfg.Log. Only one Server may use a
// data directory at a time.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" && (cfg.Store == nil || cfg.Blobs == nil) {
		return nil, errors.New("api: no data directory")
	}
	if cfg.Store != nil && len(cfg.SecretKey) != secretKeySize {
		return nil, fmt.Errorf("api: a shared store needs a %d-byte secret key to seal the ticket key, got %d bytes", secretKeySize, len(cfg.SecretKey))
	}
	if cfg.GCGrace <= 0 {
		cfg.GCGrace = time.Hour
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 2 << 30
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.EnrolTTL <= 0 {
		cfg.EnrolTTL = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	unlock := func() error { return nil }
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
		var err error
		if unlock, err = lockDir(filepath.Join(cfg.DataDir, "server.lock")); err != nil {
			return nil, err
		}
	}
	var err error
	s := &Server{cfg: cfg, unlock: unlock, argon: auth.DefaultArgon2, maxJSONBody: 64 << 10}
	if cfg.argon2 != nil {
		s.argon = *cfg.argon2
	}
	if s.store = cfg.Store; s.store == nil {
		if s.store, err = store.OpenSQLite(ctx, DatabasePath(cfg.DataDir)); err != nil {
			unlock()
			return nil, err
		}
	}
	if s.blobs = cfg.Blobs; s.blobs == nil {
		if s.blobs, err = blob.OpenDir(filepath.Join(cfg.DataDir, "blobs")); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.collectGarbage(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.adoptPinnedRoots(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.startGC()
	s.hashSlots = make(chan struct{}, 2)
	s.hashing = addrSlots{max: 2}
	s.signIns = cfg.SignIn
	if s.signIns == nil {
		s.signIns = &auth.SignInPolicy{}
	}
	s.shareLimits()
	if s.dummyHash, err = auth.HashPassword(cfg.Rand, s.argon, "no such user, no such password"); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.enrolIfEmpty(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.mux = s.routes()
	return s, nil
}

// DatabasePath returns where a data directory keeps its metadata database.
func DatabasePath(dataDir string) string { return filepath.Join(dataDir, "trustforge.db") }

// ServeHTTP serves one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Close closes the store and releases the data directory.
func (s *Server) Close() error {
	s.stopGC()
	var err error
	if s.store != nil {
		err = s.store.Close()
	}
	if s.unlock != nil {
		if uerr := s.unlock(); err == nil {
			err = uerr
		}
		s.unlock = nil
	}
	return err
}

// collectGarbage deletes payload blobs no release refers to: uploads whose
// metadata transaction never committed. In a blob store other instances
// share, it spares blobs younger than GCGrace: another instance may be
// about to record the release that refers to one.
func (s *Server) collectGarbage(ctx context.Context) error {
	now := s.cfg.Now()
	_, err := CollectGarbage(ctx, s.store, s.blobs, s.blobsShared(), now, now.Add(-s.cfg.GCGrace))
	return err
}

func (s *Server) blobsShared() bool { return s.cfg.Blobs != nil }

// CollectGarbage deletes the blobs of bs that no release or production
// package of st refers to and no upload holds a lease on at now, and
// returns how many. With shared set (bs is shared by several server
// instances) it deletes only blobs and unfinished uploads from before
// before, sparing younger ones an instance may be about to record;
// otherwise every unreferenced blob goes. Each blob is deleted under st's
// per-blob lock, after a last look at its references and leases (see
// store.BlobRefs).
func CollectGarbage(ctx context.Context, st store.BlobRefs, bs blob.Store, shared bool, now, before time.Time) (int, error) {
	ds, err := st.PayloadDigests(ctx)
	if err != nil {
		return 0, err
	}
	keep := make(map[blob.Digest]bool, len(ds))
	for _, d := range ds {
		keep[blob.Digest(d)] = true
	}
	if !shared {
		before = time.Now().Add(100 * 365 * 24 * time.Hour)
	}
	return blob.Collect(ctx, bs, func(d blob.Digest) bool { return keep[d] }, before,
		func(ctx context.Context, d blob.Digest, del func(context.Context) (bool, error)) (bool, error) {
			return st.CollectBlob(ctx, d, now, del)
		})
}

// enrolIfEmpty issues a fresh one-time enrolment secret while no account
// exists, and prints its link.
func (s *Server) enrolIfEmpty(ctx context.Context) error {
	n, err := s.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	if s.cfg.Store != nil {
		return s.enrolOnce(ctx)
	}
	link, err := IssueEnrolment(ctx, s.store, s.cfg.BaseURL, s.cfg.Rand, s.cfg.Now(), s.cfg.EnrolTTL, "trustforge", "first start")
	if err != nil {
		return err
	}
	ttl := strings.TrimSuffix(strings.TrimSuffix(s.cfg.EnrolTTL.String(), "0s"), "0m")
	fmt.Fprintf(s.cfg.Log, "trustforge: no accounts yet. Enrol the first administrator within %s at\n\n    %s\n\nThe link works once; restarting the server issues a new one.\n",
		ttl, link)
	return nil
}

// IssueEnrolment replaces any enrolment secret with a new one that lets its
// holder create an administrator account once, within ttl, and returns the
// console link that carries it. The secret travels in the link's fragment,
// which browsers never send to a server or put in a Referer.
// The audit entry records actor and via (who issued it, and how).
func IssueEnrolment(ctx context.Context, st store.Users, baseURL string, rnd io.Reader, now time.Time, ttl time.Duration, actor, via string) (string, error) {
	secret, hash, err := auth.NewSecret(rnd, auth.EnrolPrefix)
	if err != nil {
		return "", err
	}
	ev := audit.Event{Time: now, Actor: actor, Action: "enrolment.issue",
		Detail: map[string]string{"expires": now.Add(ttl).UTC().Format(time.RFC3339), "via": via}}
	if err := st.SetEnrolment(ctx, hash, now.Add(ttl), ev); err != nil {
		return "", err
	}
	return baseURL + "/enrol#token=" + secret, nil
}
