package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"trustforge/internal/apiwire"
	"trustforge/server/auth"
	"trustforge/server/store"
)

// SessionCookie is the name of the sign-in session cookie.
const SessionCookie = "tf_session"

// CSRFHeader carries a cookie session's CSRF token on state-changing requests.
const CSRFHeader = "X-CSRF-Token"

// principal is who makes a request.
type principal struct {
	user    store.User
	session string       // the session secret, when signed in with the cookie
	token   *store.Token // the API token, when one was presented
}

func (p *principal) name() string {
	if p == nil {
		return ""
	}
	return p.user.Name
}

var errUnauthenticated = errorf(http.StatusUnauthorized, apiwire.CodeUnauthenticated, "sign in or present an API token")

// authenticate finds who made r. A bad bearer token is an error; a bad or
// expired cookie is treated as no credential, so a stale cookie never keeps
// anyone from signing in again.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (*principal, error) {
	now := s.cfg.Now()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || !auth.WellFormed(secret, auth.TokenPrefix) {
			return nil, errorf(http.StatusUnauthorized, apiwire.CodeBadToken, "malformed API token")
		}
		tk, err := s.store.TokenByHash(ctx, auth.HashSecret(secret))
		if errors.Is(err, store.ErrNotFound) {
			return nil, errorf(http.StatusUnauthorized, apiwire.CodeBadToken, "unknown or revoked API token")
		}
		if err != nil {
			return nil, err
		}
		if !tk.Expires.IsZero() && !now.Before(tk.Expires) {
			return nil, errorf(http.StatusUnauthorized, apiwire.CodeBadToken, "API token expired")
		}
		u, err := s.activeUser(ctx, tk.User)
		if err != nil {
			return nil, err
		}
		return &principal{user: u, token: &tk}, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || !auth.WellFormed(c.Value, auth.SessionPrefix) {
		return nil, nil
	}
	ss, err := s.store.Session(ctx, auth.HashSecret(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !now.Before(ss.Expires) {
		return nil, nil
	}
	u, err := s.activeUser(ctx, ss.User)
	if err != nil {
		return nil, nil
	}
	return &principal{user: u, session: c.Value}, nil
}

func (s *Server) activeUser(ctx context.Context, name string) (store.User, error) {
	u, err := s.store.User(ctx, name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.Disabled || !u.Roles.Valid())) {
		return store.User{}, errorf(http.StatusUnauthorized, apiwire.CodeAccountDisabled, "account %q is disabled or gone", name)
	}
	return u, err
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// handlerFunc serves a request for an authenticated (or, on public routes,
// possibly anonymous) principal.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *principal) error

// guard wraps h with the checks every endpoint gets: cross-site refusal,
// authentication, the permission, and CSRF for cookie sessions.
func (s *Server) guard(perm auth.Permission, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.check(perm, w, r, h); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) check(perm auth.Permission, w http.ResponseWriter, r *http.Request, h handlerFunc) error {
	unsafe := unsafeMethod(r.Method)
	if site := r.Header.Get("Sec-Fetch-Site"); unsafe && site != "" && site != "same-origin" && site != "none" {
		return errorf(http.StatusForbidden, apiwire.CodeCrossSite, "cross-site request refused")
	}
	p, err := s.authenticate(r.Context(), r)
	if err != nil {
		return err
	}
	if p != nil {
		// An account's uploads may take as long as they make progress.
		if b, ok := r.Body.(interface{ ExtendOnProgress() }); ok {
			b.ExtendOnProgress()
		}
	}
	if r.Body != nil {
		r.Body = requestBody{r.Body}
	}
	if perm != "" {
		if p == nil {
			return errUnauthenticated
		}
		if !auth.Allowed(p.user.Roles, perm) {
			return errorf(http.StatusForbidden, apiwire.CodeForbidden, "role %s may not %s", p.user.Roles, perm)
		}
	}
	if perm != "" && p.session != "" && unsafe && !auth.CheckCSRF(p.session, r.Header.Get(CSRFHeader)) {
		return errorf(http.StatusForbidden, apiwire.CodeCSRF, "missing or wrong %s header", CSRFHeader)
	}
	return h(w, r, p)
}

// requestBody marks the errors of reading a request body as the client's
// doing: a body that ends before its Content-Length or stops arriving is
// answered 400 or 408, not 500.
type requestBody struct{ io.ReadCloser }

func (b requestBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			err = &bodyError{err}
		}
	}
	return n, err
}

// bodyError is a failure to read the request body.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }
