package apiwire

import "time"

// The bodies clients send. The server checks each field and answers
// CodeBadRequest naming the field it refuses; a field left out keeps the
// default its comment gives.

// EnrolRequest creates the first account with the one-time secret of the
// enrolment link (Enrol).
type EnrolRequest struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Password string `json:"password"`
	// Roles nil (null) means administrator and engineer; a set given must
	// hold RoleAdmin.
	Roles Roles `json:"roles"`
}

// SignInRequest signs in with a name and password (SignIn).
type SignInRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// CreateUserRequest creates an account (CreateUser).
type CreateUserRequest struct {
	Name  string `json:"name"`
	Roles Roles  `json:"roles"`
	// Role is the older form of Roles: one role, or several joined by
	// commas. Give one of the two.
	Role *string `json:"role,omitempty"`
	// Password "" makes an account that signs in with API tokens only (a
	// station's).
	Password string `json:"password,omitempty"`
}

// UserChange changes an account (UpdateUser); nil fields (null or left
// out) stay as they are.
type UserChange struct {
	Roles    Roles   `json:"roles"`
	Role     *string `json:"role,omitempty"`     // the older form of Roles
	Password *string `json:"password,omitempty"` // "" removes password sign-in
	Disabled *bool   `json:"disabled,omitempty"`
}

// CreateTokenRequest issues an API token (CreateToken, CreateUserToken).
type CreateTokenRequest struct {
	Name    string     `json:"name"`
	Expires *time.Time `json:"expires,omitempty"` // nil: it never expires
}

// CreateProductRequest registers a product line (CreateProduct).
type CreateProductRequest struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Channels    []string `json:"channels"`
}

// AddChannelRequest adds a release channel to a product (AddChannel).
type AddChannelRequest struct {
	Name string `json:"name"`
}

// AddKeyRequest registers a release-signing public key (AddKey).
type AddKeyRequest struct {
	PublicKey string `json:"public_key"` // PEM SubjectPublicKeyInfo
	Comment   string `json:"comment,omitempty"`
}

// PromoteRequest offers a release on another channel (PromoteRelease).
type PromoteRequest struct {
	Channel string `json:"channel"`
}

// ReasonRequest withdraws a release (YankRelease) or revokes a board's
// certificate (RevokeDevice), saying why.
type ReasonRequest struct {
	Reason string `json:"reason"`
}

// PublishCRLRequest publishes a device CA's revocation list (PublishCRL).
type PublishCRLRequest struct {
	CRL string `json:"crl"` // PEM X509 CRL
}

// AddDeviceRootRequest registers a device CA root as a product's trust
// anchor (AddDeviceRoot).
type AddDeviceRootRequest struct {
	Certificate string `json:"certificate"` // PEM, the root CA certificate
	Comment     string `json:"comment,omitempty"`
}

// SetRecipientRequest publishes the caller's age recipient
// (SetRecipient).
type SetRecipientRequest struct {
	Recipient string `json:"recipient"` // age1…, never an identity
}
