package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"trustforge/crypto/audit"
	"trustforge/server/auth"
	"trustforge/server/store"
)

// clientAddr is the client's IP address, the key of the per-address
// sign-in limit.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) limit(l *auth.Limiter, key string) error {
	if ok, wait := l.Allow(key, s.cfg.Now()); !ok {
		secs := int(wait/time.Second) + 1
		return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: secs,
			Message: "too many sign-in attempts; retry in " + strconv.Itoa(secs) + "s"}
	}
	return nil
}

// hashPassword and checkPassword bound concurrent argon2id runs, so a burst
// of sign-ins cannot exhaust memory.
func (s *Server) hashPassword(ctx context.Context, pw string) (string, error) {
	if err := s.acquireHashSlot(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashSlots }()
	return auth.HashPassword(s.cfg.Rand, s.argon, pw)
}

func (s *Server) checkPassword(ctx context.Context, hash, pw string) (bool, error) {
	if err := s.acquireHashSlot(ctx); err != nil {
		return false, err
	}
	defer func() { <-s.hashSlots }()
	return auth.CheckPassword(hash, pw)
}

func (s *Server) acquireHashSlot(ctx context.Context) error {
	select {
	case s.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) event(p *principal, action, subject string, detail map[string]string) audit.Event {
	return audit.Event{Time: s.cfg.Now(), Actor: p.name(), Action: action, Subject: subject, Detail: detail}
}

func (s *Server) enrol(w http.ResponseWriter, r *http.Request, _ *principal) error {
	if err := s.limit(s.signInAddr, clientAddr(r)); err != nil {
		return err
	}
	var q enrolRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	invalid := errorf(http.StatusForbidden, "enrolment_invalid", "the enrolment link is wrong, used or expired")
	if !auth.WellFormed(q.Token, auth.EnrolPrefix) {
		return invalid
	}
	hash, err := s.hashPassword(r.Context(), q.Password)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	u := store.User{Name: q.Name, Roles: q.roles, PasswordHash: hash, Created: now}
	ev := audit.Event{Time: now, Actor: q.Name, Action: "user.enrol", Subject: q.Name, Detail: map[string]string{"roles": u.Roles.String(), "addr": clientAddr(r)}}
	err = s.store.Enrol(r.Context(), auth.HashSecret(q.Token), now, u, ev)
	if errors.Is(err, store.ErrNotFound) {
		return invalid
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, userJSON(u))
	return nil
}

type sessionJSON struct {
	User      string      `json:"user"`
	Roles     store.Roles `json:"roles"`
	Role      string      `json:"role"` // the roles joined by commas, for older clients
	CSRFToken string      `json:"csrf_token,omitempty"`
	Expires   *time.Time  `json:"expires,omitempty"`
	Via       string      `json:"via"` // "session" or "token"
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request, _ *principal) error {
	var q signInRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	if err := s.limit(s.signInAddr, clientAddr(r)); err != nil {
		return err
	}
	if err := s.limit(s.signInUser, q.Name); err != nil {
		return err
	}
	bad := errorf(http.StatusUnauthorized, "bad_credentials", "wrong user name or password")
	u, err := s.store.User(r.Context(), q.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	hash := u.PasswordHash
	if err != nil || u.Disabled || hash == "" {
		hash = s.dummyHash // same work as a real check, so timing does not tell which names exist
	}
	ok, err := s.checkPassword(r.Context(), hash, q.Password)
	if err != nil {
		return err
	}
	if !ok || hash == s.dummyHash {
		return bad
	}
	secret, shash, err := auth.NewSecret(s.cfg.Rand, auth.SessionPrefix)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	ss := store.Session{Hash: shash, User: u.Name, Created: now, Expires: now.Add(s.cfg.SessionTTL)}
	ev := audit.Event{Time: now, Actor: u.Name, Action: "session.create", Subject: u.Name, Detail: map[string]string{"addr": clientAddr(r)}}
	if err := s.store.CreateSession(r.Context(), ss, ev); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: secret, Path: "/", Expires: ss.Expires,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	writeJSON(w, http.StatusOK, sessionJSON{User: u.Name, Roles: u.Roles, Role: u.Roles.String(), CSRFToken: auth.CSRFToken(secret), Expires: &ss.Expires, Via: "session"})
	return nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, p *principal) error {
	out := sessionJSON{User: p.user.Name, Roles: p.user.Roles, Role: p.user.Roles.String(), Via: "token"}
	if p.session != "" {
		out.Via, out.CSRFToken = "session", auth.CSRFToken(p.session)
		if ss, err := s.store.Session(r.Context(), auth.HashSecret(p.session)); err == nil {
			out.Expires = &ss.Expires
		}
	} else if !p.token.Expires.IsZero() {
		out.Expires = &p.token.Expires
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request, p *principal) error {
	if p.session == "" {
		return errorf(http.StatusBadRequest, "not_a_session", "signed in with an API token; revoke it with DELETE /api/tokens/{id}")
	}
	if err := s.store.DeleteSession(r.Context(), auth.HashSecret(p.session), s.event(p, "session.delete", p.user.Name, nil)); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
