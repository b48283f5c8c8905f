package api

import (
	"io"
	"net/http"
	"time"

	"trustforge/internal/apiwire"
	"trustforge/server/auth"
	"trustforge/server/store"
)

func userJSON(u store.User) apiwire.User {
	return apiwire.User{Name: u.Name, Roles: u.Roles, Role: u.Roles.String(), HasPassword: u.PasswordHash != "", Disabled: u.Disabled, Created: u.Created}
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p *principal) error {
	us, err := s.store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	out := make([]apiwire.User, 0, len(us))
	for _, u := range us {
		out = append(out, userJSON(u))
	}
	writeJSON(w, http.StatusOK, apiwire.UserList{Users: out})
	return nil
}

// listAdmins names the enabled administrators, so that anyone signed in
// knows whom to ask for an account, a product or a role.
func (s *Server) listAdmins(w http.ResponseWriter, r *http.Request, p *principal) error {
	us, err := s.store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	out := []string{}
	for _, u := range us {
		if !u.Disabled && u.Roles.Has(store.RoleAdmin) {
			out = append(out, u.Name)
		}
	}
	writeJSON(w, http.StatusOK, apiwire.AdminList{Admins: out})
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q createUserRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	u := store.User{Name: q.Name, Roles: q.roles, Created: s.cfg.Now()}
	if q.Password != "" {
		h, err := s.hashPassword(r, q.Password)
		if err != nil {
			return err
		}
		u.PasswordHash = h
	}
	ev := s.event(p, "user.create", u.Name, map[string]string{"roles": u.Roles.String()})
	if err := s.store.CreateUser(r.Context(), u, ev); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, userJSON(u))
	return nil
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q updateUserRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	u, err := s.store.User(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	detail := map[string]string{}
	if q.roles != nil {
		if u.Name == p.user.Name && !q.roles.Has(store.RoleAdmin) {
			return errorf(http.StatusConflict, apiwire.CodeSelfDemotion, "an administrator cannot remove their own admin role")
		}
		u.Roles, detail["roles"] = q.roles, q.roles.String()
	}
	if q.Disabled != nil {
		if u.Name == p.user.Name && *q.Disabled {
			return errorf(http.StatusConflict, apiwire.CodeSelfDisable, "an administrator cannot disable themselves")
		}
		u.Disabled = *q.Disabled
		detail["disabled"] = map[bool]string{true: "true", false: "false"}[u.Disabled]
	}
	if q.Password != nil {
		u.PasswordHash, detail["password"] = "", "removed"
		if *q.Password != "" {
			if u.PasswordHash, err = s.hashPassword(r, *q.Password); err != nil {
				return err
			}
			detail["password"] = "changed"
		}
	}
	if err := s.store.UpdateUser(r.Context(), u, s.event(p, "user.update", u.Name, detail)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}

func tokenOut(t store.Token, secret string) apiwire.Token {
	out := apiwire.Token{ID: t.ID, User: t.User, Name: t.Name, Created: t.Created, Secret: secret}
	if !t.Expires.IsZero() {
		out.Expires = &t.Expires
	}
	return out
}

func (s *Server) listOwnTokens(w http.ResponseWriter, r *http.Request, p *principal) error {
	user := p.user.Name
	if p.user.Roles.Has(store.RoleAdmin) && r.URL.Query().Get("all") == "true" {
		user = ""
	}
	ts, err := s.store.ListTokens(r.Context(), user)
	if err != nil {
		return err
	}
	out := make([]apiwire.Token, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenOut(t, ""))
	}
	writeJSON(w, http.StatusOK, apiwire.TokenList{Tokens: out})
	return nil
}

func (s *Server) createOwnToken(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.createToken(w, r, p, p.user.Name)
}

func (s *Server) createUserToken(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.createToken(w, r, p, r.PathValue("name"))
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p *principal, user string) error {
	var q createTokenRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	now := s.cfg.Now()
	var expires time.Time
	if q.Expires != nil {
		if !q.Expires.After(now) {
			return badField("expires", "must be in the future")
		}
		expires = q.Expires.UTC()
	}
	t, secret, err := NewToken(s.cfg.Rand, user, q.Name, now, expires)
	if err != nil {
		return err
	}
	ev := s.event(p, "token.create", t.ID, map[string]string{"user": user, "name": q.Name})
	if err := s.store.CreateToken(r.Context(), t, ev); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tokenOut(t, secret))
	return nil
}

// NewToken makes an API token for user: the record to store (holding only
// the secret's hash) and the secret to hand over once.
func NewToken(rand io.Reader, user, name string, now, expires time.Time) (store.Token, string, error) {
	secret, hash, err := auth.NewSecret(rand, auth.TokenPrefix)
	if err != nil {
		return store.Token{}, "", err
	}
	id, err := auth.NewID(rand, "tk_")
	if err != nil {
		return store.Token{}, "", err
	}
	return store.Token{ID: id, Hash: hash, User: user, Name: name, Created: now, Expires: expires}, secret, nil
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request, p *principal) error {
	t, err := s.store.Token(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if t.User != p.user.Name && !p.user.Roles.Has(store.RoleAdmin) {
		return errorf(http.StatusNotFound, apiwire.CodeNotFound, "token %s", t.ID)
	}
	if err := s.store.DeleteToken(r.Context(), t.ID, s.event(p, "token.delete", t.ID, map[string]string{"user": t.User})); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
