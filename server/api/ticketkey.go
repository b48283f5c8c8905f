package api

import (
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"trustforge/crypto/keys"
)

// TicketKeyFile is where a data directory keeps the server's production
// ticket key: an Ed25519 key, PKCS#8 PEM, mode 0600. It signs production
// tickets and nothing else, and is the one private key the server holds.
const TicketKeyFile = "ticket.key"

// ticketKey returns the server's ticket-signing key, generating it on
// first use. Two servers cannot share a data directory (server.lock), and
// two requests racing to create it agree: the file is created by a hard
// link that fails if it exists, and both then read the one that won.
func (s *Server) ticketKey() (*keys.PrivateKey, error) {
	if s.cfg.Store != nil {
		return s.sharedTicketKey()
	}
	path := filepath.Join(s.cfg.DataDir, TicketKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := s.createTicketKey(path); err != nil {
			return nil, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("api: ticket key: %w", err)
	}
	k, err := keys.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("api: ticket key %s: %w", path, err)
	}
	if k.Algorithm() != keys.Ed25519 {
		return nil, fmt.Errorf("api: ticket key %s is %s, want ed25519", path, k.Algorithm())
	}
	return k, nil
}

func (s *Server) createTicketKey(path string) error {
	k, err := keys.Generate(s.cfg.Rand, keys.Ed25519)
	if err != nil {
		return fmt.Errorf("api: generating the ticket key: %w", err)
	}
	pemBytes, err := k.MarshalPEM()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ticket-*.key")
	if err != nil {
		return fmt.Errorf("api: ticket key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		if _, err = tmp.Write(pemBytes); err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("api: ticket key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("api: ticket key: %w", err)
	}
	return nil
}

// ticketSigner returns the ticket key as a signer and its public half.
func (s *Server) ticketSigner() (crypto.Signer, *keys.PublicKey, error) {
	k, err := s.ticketKey()
	if err != nil {
		return nil, nil, err
	}
	sg, err := k.Signer()
	if err != nil {
		return nil, nil, err
	}
	return sg, k.Public(), nil
}

// getTicketKey serves the ticket key's public half (PEM): what stations
// and relying parties check tickets with.
func (s *Server) getTicketKey(w http.ResponseWriter, r *http.Request, _ *principal) error {
	_, pub, err := s.ticketSigner()
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-pem-file")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(pub.MarshalPEM())
	return nil
}
