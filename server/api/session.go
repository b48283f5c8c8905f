package api

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"trustforge/crypto/audit"
	"trustforge/internal/apiwire"
	"trustforge/server/auth"
	"trustforge/server/store"
)

// SignInLimiter decides which sign-in attempts the server tries: the
// policy (auth.SignInPolicy) behind an interface, so its counters can live
// elsewhere than in memory.
type SignInLimiter interface {
	// Allow reports whether an attempt at user's password from the client
	// address addr may be tried, and if not how long to wait.
	Allow(user, addr string, now time.Time) (bool, time.Duration)
	// AllowAddr does the same for a request that names no account.
	AllowAddr(addr string, now time.Time) (bool, time.Duration)
	// Record reports an allowed attempt's outcome.
	Record(user, addr string, ok bool, now time.Time)
}

// clientAddr is the client's IP address, the key of the sign-in limits and
// what audit entries record. Behind a trusted reverse proxy the site has
// already replaced RemoteAddr with the address the proxy forwarded.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func rateLimited(wait time.Duration) error {
	secs := int(wait/time.Second) + 1
	return &Error{Status: http.StatusTooManyRequests, Code: apiwire.CodeRateLimited, RetryAfter: secs,
		Message: "too many sign-in attempts; retry in " + strconv.Itoa(secs) + "s"}
}

// addrSlots bounds how many argon2id computations one client address may
// have running or queued at once, so that no client can fill the queue in
// front of everyone else's sign-in.
type addrSlots struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func (a *addrSlots) acquire(addr string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = make(map[string]int)
	}
	if a.n[addr] >= a.max {
		return false
	}
	a.n[addr]++
	return true
}

func (a *addrSlots) release(addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[addr]--; a.n[addr] <= 0 {
		delete(a.n, addr)
	}
}

// hashPassword and checkPassword bound concurrent argon2id runs, so a burst
// of sign-ins cannot exhaust memory, and each client address's share of
// them, so a burst from a few clients cannot delay everyone else's.
func (s *Server) hashPassword(r *http.Request, pw string) (string, error) {
	release, err := s.acquireHashSlot(r)
	if err != nil {
		return "", err
	}
	defer release()
	return auth.HashPassword(s.cfg.Rand, s.argon, pw)
}

func (s *Server) checkPassword(r *http.Request, hash, pw string) (bool, error) {
	release, err := s.acquireHashSlot(r)
	if err != nil {
		return false, err
	}
	defer release()
	return auth.CheckPassword(hash, pw)
}

func (s *Server) acquireHashSlot(r *http.Request) (release func(), err error) {
	addr := clientAddr(r)
	if !s.hashing.acquire(addr) {
		return nil, &Error{Status: http.StatusTooManyRequests, Code: apiwire.CodeBusy, RetryAfter: 1,
			Message: "password checks from this address are already under way; retry when they are done"}
	}
	select {
	case s.hashSlots <- struct{}{}:
		return func() { <-s.hashSlots; s.hashing.release(addr) }, nil
	case <-r.Context().Done():
		s.hashing.release(addr)
		return nil, r.Context().Err()
	}
}

func (s *Server) event(p *principal, action, subject string, detail map[string]string) audit.Event {
	return audit.Event{Time: s.cfg.Now(), Actor: p.name(), Action: action, Subject: subject, Detail: detail}
}

func (s *Server) enrol(w http.ResponseWriter, r *http.Request, _ *principal) error {
	if ok, wait := s.signIns.AllowAddr(clientAddr(r), s.cfg.Now()); !ok {
		return rateLimited(wait)
	}
	var q enrolRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	invalid := errorf(http.StatusForbidden, apiwire.CodeEnrolmentInvalid, "the enrolment link is wrong, used or expired")
	if !auth.WellFormed(q.Token, auth.EnrolPrefix) {
		return invalid
	}
	hash, err := s.hashPassword(r, q.Password)
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

func (s *Server) signIn(w http.ResponseWriter, r *http.Request, _ *principal) error {
	var q signInRequest
	if err := decodeJSON(r, s.maxJSONBody, &q); err != nil {
		return err
	}
	addr := clientAddr(r)
	if ok, wait := s.signIns.Allow(q.Name, addr, s.cfg.Now()); !ok {
		return rateLimited(wait)
	}
	bad := errorf(http.StatusUnauthorized, apiwire.CodeBadCredentials, "wrong user name or password")
	u, err := s.store.User(r.Context(), q.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	hash := u.PasswordHash
	if err != nil || u.Disabled || hash == "" {
		hash = s.dummyHash // same work as a real check, so timing does not tell which names exist
	}
	ok, err := s.checkPassword(r, hash, q.Password)
	if err != nil {
		return err
	}
	ok = ok && hash != s.dummyHash
	s.signIns.Record(q.Name, addr, ok, s.cfg.Now())
	if !ok {
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
	writeJSON(w, http.StatusOK, apiwire.Session{User: u.Name, Roles: u.Roles, Role: u.Roles.String(), CSRFToken: auth.CSRFToken(secret), Expires: &ss.Expires, Via: "session"})
	return nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, p *principal) error {
	out := apiwire.Session{User: p.user.Name, Roles: p.user.Roles, Role: p.user.Roles.String(), Via: "token"}
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
		return errorf(http.StatusBadRequest, apiwire.CodeNotASession, "signed in with an API token; revoke it with DELETE /api/tokens/{id}")
	}
	if err := s.store.DeleteSession(r.Context(), auth.HashSecret(p.session), s.event(p, "session.delete", p.user.Name, nil)); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// held returns how many checks addr has running or queued, for tests.
func (a *addrSlots) held(addr string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n[addr]
}
