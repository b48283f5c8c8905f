package api

import (
	"crypto"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/internal/apiwire"
	"trustforge/server/store"
)

func productOut(p store.Product) apiwire.Product {
	return apiwire.Product{Name: p.Name, Description: p.Description, Channels: p.Channels, Created: p.Created}
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request, p *principal) error {
	ps, err := s.store.ListProducts(r.Context())
	if err != nil {
		return err
	}
	out := make([]apiwire.Product, 0, len(ps))
	for _, pr := range ps {
		out = append(out, productOut(pr))
	}
	writeJSON(w, http.StatusOK, apiwire.ProductList{Products: out})
	return nil
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request, p *principal) error {
	pr, err := s.store.Product(r.Context(), r.PathValue("product"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, productOut(pr))
	return nil
}

func (s *Server) createProduct(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q createProductRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	if q.Channels == nil {
		q.Channels = []string{}
	}
	pr := store.Product{Name: q.Name, Description: q.Description, Channels: q.Channels, Created: s.cfg.Now()}
	ev := s.event(p, "product.create", pr.Name, map[string]string{"channels": strings.Join(pr.Channels, ",")})
	if err := s.store.CreateProduct(r.Context(), pr, ev); err != nil {
		return err
	}
	pr, err := s.store.Product(r.Context(), pr.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, productOut(pr))
	return nil
}

func (s *Server) addChannel(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q addChannelRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	name := r.PathValue("product")
	if err := s.store.AddChannel(r.Context(), name, q.Name, s.event(p, "channel.add", name+"/"+q.Name, nil)); err != nil {
		return err
	}
	pr, err := s.store.Product(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, productOut(pr))
	return nil
}

func keyOut(k store.Key) apiwire.Key {
	out := apiwire.Key{Product: k.Product, Fingerprint: k.Fingerprint, Algorithm: k.Algorithm, PublicKey: string(k.PublicKey),
		Comment: k.Comment, Added: k.Added, AddedBy: k.AddedBy}
	if !k.Revoked.IsZero() {
		out.Revoked = &k.Revoked
	}
	return out
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, p *principal) error {
	name := r.PathValue("product")
	if _, err := s.store.Product(r.Context(), name); err != nil {
		return err
	}
	ks, err := s.store.Keys(r.Context(), name)
	if err != nil {
		return err
	}
	out := make([]apiwire.Key, 0, len(ks))
	for _, k := range ks {
		out = append(out, keyOut(k))
	}
	writeJSON(w, http.StatusOK, apiwire.KeyList{Keys: out})
	return nil
}

// parseSigningKey reads a release-signing public key from PEM. A private
// key is refused unread: the server must never hold one.
func parseSigningKey(text string) (*keys.PublicKey, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, badField("public_key", "not PEM")
	}
	if strings.Contains(block.Type, "PRIVATE") {
		return nil, errorf(http.StatusBadRequest, apiwire.CodePrivateKey, "public_key: that is a private key; register only its public half (imgtool getpub -e pem)")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, badField("public_key", "PEM block %q, want PUBLIC KEY", block.Type)
	}
	k, err := keys.ParseSPKI(block.Bytes)
	if err != nil {
		return nil, badField("public_key", "%v", err)
	}
	if !k.Algorithm().CanSign() {
		return nil, badField("public_key", "%s keys cannot sign releases (want ecdsa-p256 or ed25519)", k.Algorithm())
	}
	return k, nil
}

func (s *Server) addKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q addKeyRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	k, err := parseSigningKey(q.PublicKey)
	if err != nil {
		return err
	}
	fp, err := bundle.KeyFingerprint(k.Crypto())
	if err != nil {
		return badField("public_key", "%v", err)
	}
	sk := store.Key{Product: r.PathValue("product"), Fingerprint: fp, Algorithm: string(k.Algorithm()),
		PublicKey: k.MarshalPEM(), Comment: q.Comment, Added: s.cfg.Now(), AddedBy: p.user.Name}
	ev := s.event(p, "key.add", sk.Product+"/"+fp, map[string]string{"algorithm": sk.Algorithm, "comment": sk.Comment})
	if err := s.store.AddKey(r.Context(), sk, ev); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, keyOut(sk))
	return nil
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	product, fp := r.PathValue("product"), r.PathValue("fingerprint")
	ev := s.event(p, "key.revoke", product+"/"+fp, nil)
	if err := s.store.RevokeKey(r.Context(), product, fp, s.cfg.Now(), ev); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// trustedKeys returns the public keys that may sign a product's new releases.
func (s *Server) trustedKeys(r *http.Request, product string) ([]crypto.PublicKey, error) {
	ks, err := s.store.Keys(r.Context(), product)
	if err != nil {
		return nil, err
	}
	var out []crypto.PublicKey
	for _, k := range ks {
		if !k.Revoked.IsZero() {
			continue
		}
		pk, err := keys.ParsePublicKey(k.PublicKey)
		if err != nil {
			return nil, errors.Join(errors.New("api: stored key unreadable"), err)
		}
		out = append(out, pk.Crypto())
	}
	return out, nil
}
