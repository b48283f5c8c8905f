package api

import (
	"net/http"
	"time"

	"trustforge/internal/apiwire"
	"trustforge/server/auth"
	"trustforge/server/store"
)

// Name rules. Product and channel names follow the release manifest's, so
// every name a manifest can carry can be registered.
const (
	maxNameLen    = 64
	maxCommentLen = 256
	maxReasonLen  = 1024
	maxKeyPEM     = 8 << 10
)

// validName reports whether s is 1 to 64 ASCII letters, digits, '.', '_'
// or '-', starting with a letter or digit (the manifest's rule). User names
// may also contain '@'.
func validName(s string, user bool) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		case i > 0 && user && c == '@':
		default:
			return false
		}
	}
	return true
}

func badField(field, format string, args ...any) error {
	return errorf(http.StatusBadRequest, apiwire.CodeBadField, field+": "+format, args...)
}

func checkName(field, s string, user bool) error {
	if !validName(s, user) {
		return badField(field, "%q is not a valid name (1-64 letters, digits, '.', '_', '-')", s)
	}
	return nil
}

func checkPassword(field, pw string) error {
	if err := auth.CheckPasswordPolicy(pw); err != nil {
		return badField(field, "must be %d to %d bytes", auth.MinPasswordLen, auth.MaxPasswordLen)
	}
	return nil
}

// enrolRequest is apiwire.EnrolRequest as the server checks it.
type enrolRequest struct {
	apiwire.EnrolRequest

	roles store.Roles
}

// DefaultEnrolRoles are the roles of the first account when its enrolment
// names none: one person on a bench can administer and publish. Enrolling
// with roles ["admin"] keeps administration and publishing apart.
var DefaultEnrolRoles = store.NewRoles(store.RoleAdmin, store.RoleEngineer)

func (q *enrolRequest) validate() error {
	if q.Token == "" {
		return badField("token", "required")
	}
	if err := checkName("name", q.Name, true); err != nil {
		return err
	}
	q.roles = DefaultEnrolRoles
	if q.Roles != nil {
		q.roles = store.NewRoles(q.EnrolRequest.Roles...)
		if err := checkRoles(q.roles); err != nil {
			return err
		}
		if !q.roles.Has(store.RoleAdmin) {
			return badField("roles", "the first account must hold admin, or nobody could manage accounts")
		}
	}
	return checkPassword("password", q.Password)
}

// checkRoles refuses an empty set or one with an unknown role.
func checkRoles(rs store.Roles) error {
	if len(rs) == 0 {
		return badField("roles", "name at least one of admin, engineer, technician, station")
	}
	for _, r := range rs {
		if !r.Valid() {
			return badField("roles", "%q is not one of admin, engineer, technician, station", r)
		}
	}
	return nil
}

// rolesField reads a request's roles: the "roles" list, or the older
// "role" field (one role, or several joined by commas). Giving both is an
// error.
func rolesField(role *string, roles store.Roles) (store.Roles, error) {
	switch {
	case role != nil && roles != nil:
		return nil, badField("role, roles", "give one of them")
	case roles != nil:
		rs := store.NewRoles(roles...)
		return rs, checkRoles(rs)
	case role != nil:
		rs, err := store.ParseRoles(*role)
		if err != nil {
			return nil, badField("role", "%q is not one of admin, engineer, technician, station (or several joined by commas)", *role)
		}
		return rs, nil
	}
	return nil, nil
}

type signInRequest apiwire.SignInRequest

func (q *signInRequest) validate() error {
	if q.Name == "" || q.Password == "" {
		return badField("name, password", "required")
	}
	return nil
}

// createUserRequest is apiwire.CreateUserRequest as the server checks it.
type createUserRequest struct {
	apiwire.CreateUserRequest

	roles store.Roles
}

func (q *createUserRequest) validate() error {
	if err := checkName("name", q.Name, true); err != nil {
		return err
	}
	rs, err := rolesField(q.Role, q.CreateUserRequest.Roles)
	if err != nil {
		return err
	}
	if rs == nil {
		return badField("roles", "required: at least one of admin, engineer, technician, station")
	}
	q.roles = rs
	if q.Password != "" {
		return checkPassword("password", q.Password)
	}
	return nil
}

// updateUserRequest is apiwire.UserChange as the server checks it.
type updateUserRequest struct {
	apiwire.UserChange

	roles store.Roles // nil: unchanged
}

func (q *updateUserRequest) validate() error {
	if q.Role == nil && q.UserChange.Roles == nil && q.Password == nil && q.Disabled == nil {
		return badField("roles, password, disabled", "nothing to change")
	}
	rs, err := rolesField(q.Role, q.UserChange.Roles)
	if err != nil {
		return err
	}
	q.roles = rs
	if q.Password != nil && *q.Password != "" {
		return checkPassword("password", *q.Password)
	}
	return nil
}

type createTokenRequest apiwire.CreateTokenRequest

func (q *createTokenRequest) validate() error {
	if q.Expires != nil && !validExpiry(*q.Expires) {
		return badField("expires", "%s is after %s, the latest expiry the server accepts; omit expires for a token that never expires",
			q.Expires.UTC().Format(time.RFC3339), maxExpiry.Format(time.RFC3339))
	}
	return checkName("name", q.Name, false)
}

// maxExpiry is the latest expiry time the server accepts, well before the
// end (in 2262) of the nanosecond clock the store keeps times in: a later
// time would wrap around and expire at once, or never.
var maxExpiry = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// validExpiry reports whether t is an expiry time the server can keep.
func validExpiry(t time.Time) bool { return !t.After(maxExpiry) }

type createProductRequest apiwire.CreateProductRequest

func (q *createProductRequest) validate() error {
	if err := checkName("name", q.Name, false); err != nil {
		return err
	}
	if len(q.Description) > maxCommentLen {
		return badField("description", "longer than %d bytes", maxCommentLen)
	}
	if len(q.Channels) > 64 {
		return badField("channels", "more than 64")
	}
	seen := map[string]bool{}
	for _, c := range q.Channels {
		if err := checkName("channels", c, false); err != nil {
			return err
		}
		if seen[c] {
			return badField("channels", "%q listed twice", c)
		}
		seen[c] = true
	}
	return nil
}

type addChannelRequest apiwire.AddChannelRequest

func (q *addChannelRequest) validate() error { return checkName("name", q.Name, false) }

type addKeyRequest apiwire.AddKeyRequest

func (q *addKeyRequest) validate() error {
	if q.PublicKey == "" || len(q.PublicKey) > maxKeyPEM {
		return badField("public_key", "required, a PEM public key of at most %d bytes", maxKeyPEM)
	}
	if len(q.Comment) > maxCommentLen {
		return badField("comment", "longer than %d bytes", maxCommentLen)
	}
	return nil
}

type promoteRequest apiwire.PromoteRequest

func (q *promoteRequest) validate() error { return checkName("channel", q.Channel, false) }

type yankRequest apiwire.ReasonRequest

func (q *yankRequest) validate() error {
	if q.Reason == "" || len(q.Reason) > maxReasonLen {
		return badField("reason", "required, at most %d bytes", maxReasonLen)
	}
	return nil
}
