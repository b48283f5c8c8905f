package api

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"trustforge/crypto/audit"
	"trustforge/crypto/keys"
	"trustforge/server/auth"
	"trustforge/server/store"
)

// Several server instances behind a load balancer share one Store and one
// blob store (Config.Store, Config.Blobs). Everything they must agree on
// lives there: sessions and their CSRF tokens, the enrolment secret,
// production ticket counts (issued in one serialised transaction), the
// audit chain, sign-in rate-limit buckets, and the ticket signing key,
// sealed with Config.SecretKey so the database alone cannot sign tickets.

const secretKeySize = 32

// ticketKeySecret is the ticket key's name in the store, and the label
// sealing binds it to.
const ticketKeySecret = "trustforge/ticket-key/v1"

// sharedKey caches the unsealed ticket key: once stored it never changes.
type sharedKey struct {
	mu  sync.Mutex
	key *keys.PrivateKey
}

// sealSecret encrypts value with AES-256-GCM under key, bound to name:
// nonce ‖ ciphertext ‖ tag.
func sealSecret(key []byte, name string, value []byte, rnd io.Reader) ([]byte, error) {
	aead, err := secretAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	return aead.Seal(nonce, nonce, value, []byte(name)), nil
}

func openSecret(key []byte, name string, sealed []byte) ([]byte, error) {
	aead, err := secretAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("api: sealed secret %s is truncated", name)
	}
	n := aead.NonceSize()
	v, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(name))
	if err != nil {
		return nil, fmt.Errorf("api: secret %s does not open with this server's secret key (is --secret-key-file the one the other instances use?)", name)
	}
	return v, nil
}

func secretAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != secretKeySize {
		return nil, fmt.Errorf("api: secret key is %d bytes, want %d", len(key), secretKeySize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// StoreTicketKey seals a ticket key (PKCS#8 PEM) with secretKey and keeps
// it in st unless one is stored already; it returns whether the stored key
// is the one given. trustforge migrate uses it to carry an embedded
// installation's key over, so tickets issued before stay verifiable.
func StoreTicketKey(ctx context.Context, st store.Secrets, secretKey, pemKey []byte, rnd io.Reader, now time.Time) (bool, error) {
	sealed, err := sealSecret(secretKey, ticketKeySecret, pemKey, rnd)
	if err != nil {
		return false, err
	}
	stored, err := st.PutSecret(ctx, ticketKeySecret, sealed, now)
	if err != nil {
		return false, err
	}
	got, err := openSecret(secretKey, ticketKeySecret, stored)
	if err != nil {
		return false, err
	}
	return string(got) == string(pemKey), nil
}

// sharedTicketKey returns the ticket key kept sealed in the shared store,
// generating it when no instance has yet; of instances racing to, the
// first to store its key wins and all use that one.
func (s *Server) sharedTicketKey() (*keys.PrivateKey, error) {
	s.ticket.mu.Lock()
	defer s.ticket.mu.Unlock()
	if s.ticket.key != nil {
		return s.ticket.key, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sealed, err := s.store.Secret(ctx, ticketKeySecret)
	if errors.Is(err, store.ErrNotFound) {
		k, gerr := keys.Generate(s.cfg.Rand, keys.Ed25519)
		if gerr != nil {
			return nil, fmt.Errorf("api: generating the ticket key: %w", gerr)
		}
		pemKey, merr := k.MarshalPEM()
		if merr != nil {
			return nil, merr
		}
		if _, err := StoreTicketKey(ctx, s.store, s.cfg.SecretKey, pemKey, s.cfg.Rand, s.cfg.Now()); err != nil {
			return nil, err
		}
		sealed, err = s.store.Secret(ctx, ticketKeySecret)
	}
	if err != nil {
		return nil, fmt.Errorf("api: ticket key: %w", err)
	}
	pemKey, err := openSecret(s.cfg.SecretKey, ticketKeySecret, sealed)
	if err != nil {
		return nil, err
	}
	k, err := keys.ParsePrivateKey(pemKey)
	if err != nil {
		return nil, fmt.Errorf("api: shared ticket key: %w", err)
	}
	if k.Algorithm() != keys.Ed25519 {
		return nil, fmt.Errorf("api: shared ticket key is %s, want ed25519", k.Algorithm())
	}
	s.ticket.key = k
	return k, nil
}

// shareLimits makes the sign-in policy's rate limits draw from buckets in a
// shared store, so the limits hold however many instances answer. The
// policy's per-account backoff stays in each instance's memory.
func (s *Server) shareLimits() {
	if s.cfg.Store == nil {
		return
	}
	p, ok := s.signIns.(*auth.SignInPolicy)
	if !ok {
		return // a policy of the caller's own keeps its own state
	}
	p.PerPair.Shared, p.PerPair.Name = s.store, "signin-user-addr"
	p.PerAddr.Shared, p.PerAddr.Name = s.store, "signin-addr"
}

// Store returns the server's metadata store.
func (s *Server) Store() store.Store { return s.store }

// HealthChecks returns a check of each store the server depends on, by
// name, for /healthz.
func (s *Server) HealthChecks() map[string]func(context.Context) error {
	checks := map[string]func(context.Context) error{}
	if p, ok := s.store.(interface{ Ping(context.Context) error }); ok {
		checks["database"] = p.Ping
	}
	if p, ok := s.blobs.(interface{ Ping(context.Context) error }); ok {
		checks["blobs"] = p.Ping
	}
	return checks
}

// enrolOnce issues the first-start enrolment link on a shared store unless
// another instance issued one that is still live: restarting or adding
// instances must not revoke the link an operator is about to open.
func (s *Server) enrolOnce(ctx context.Context) error {
	eo, ok := s.store.(store.EnrolmentOnce)
	if !ok {
		return errors.New("api: the shared store cannot issue an enrolment link once")
	}
	secret, hash, err := auth.NewSecret(s.cfg.Rand, auth.EnrolPrefix)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	ev := audit.Event{Time: now, Actor: "trustforge", Action: "enrolment.issue",
		Detail: map[string]string{"expires": now.Add(s.cfg.EnrolTTL).UTC().Format(time.RFC3339), "via": "first start"}}
	issued, err := eo.SetEnrolmentIfNone(ctx, hash, now.Add(s.cfg.EnrolTTL), now, ev)
	if err != nil {
		return err
	}
	if !issued {
		fmt.Fprintf(s.cfg.Log, "trustforge: no accounts yet; another instance printed the enrolment link (`trustforge admin enrol --db …` issues a new one)\n")
		return nil
	}
	ttl := strings.TrimSuffix(strings.TrimSuffix(s.cfg.EnrolTTL.String(), "0s"), "0m")
	fmt.Fprintf(s.cfg.Log, "trustforge: no accounts yet. Enrol the first administrator within %s at\n\n    %s\n\nThe link works once.\n",
		ttl, s.cfg.BaseURL+"/enrol#token="+secret)
	return nil
}

// startGC collects a shared blob store's garbage every GCGrace while the
// server runs: instances that crashed mid-upload leave staging objects an
// instance that never restarts would otherwise keep.
func (s *Server) startGC() {
	if !s.blobsShared() {
		return
	}
	s.gcStop, s.gcDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.gcDone)
		t := time.NewTicker(s.cfg.GCGrace)
		defer t.Stop()
		for {
			select {
			case <-s.gcStop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), s.cfg.GCGrace)
				if err := s.collectGarbage(ctx); err != nil {
					fmt.Fprintf(s.cfg.Log, "trustforge: garbage collection: %v\n", err)
				}
				cancel()
			}
		}
	}()
}

func (s *Server) stopGC() {
	if s.gcStop != nil {
		close(s.gcStop)
		<-s.gcDone
		s.gcStop = nil
	}
}
