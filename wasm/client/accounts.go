package client

import (
	"bytes"
	"context"
	"io"

	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
)

// Enrol creates the first account with the one-time secret from the link
// the server printed (the part after "#token="). Empty roles leaves the
// server's default: administrator and engineer.
func (c *Client) Enrol(ctx context.Context, token, name, password string, roles []string) (User, error) {
	in := apiwire.EnrolRequest{Token: token, Name: name, Password: password, Roles: toRoles(roles)}
	var u User
	err := c.call(ctx, apiwire.Enrol.Method, apiwire.Enrol.Path(), in, &u)
	return u, err
}

// Users lists the accounts (administrators only).
func (c *Client) Users(ctx context.Context) ([]User, error) {
	var out apiwire.UserList
	err := c.call(ctx, apiwire.ListUsers.Method, apiwire.ListUsers.Path(), nil, &out)
	return out.Users, err
}

// CreateUser creates an account holding roles; an empty password makes an
// account that signs in only with API tokens (a station's).
func (c *Client) CreateUser(ctx context.Context, name string, roles []string, password string) (User, error) {
	in := apiwire.CreateUserRequest{Name: name, Roles: toRoles(roles), Password: password}
	var u User
	err := c.call(ctx, apiwire.CreateUser.Method, apiwire.CreateUser.Path(), in, &u)
	return u, err
}

// UserChange is a change to an account; nil fields stay as they are.
type UserChange = apiwire.UserChange

// toRoles makes a roles list of names; nil stays nil (the server's
// default), empty stays empty (which it refuses).
func toRoles(names []string) apiwire.Roles {
	if names == nil {
		return nil
	}
	rs := make(apiwire.Roles, len(names))
	for i, n := range names {
		rs[i] = apiwire.Role(n)
	}
	return rs
}

// UpdateUser changes an account.
func (c *Client) UpdateUser(ctx context.Context, name string, ch UserChange) (User, error) {
	var u User
	err := c.call(ctx, apiwire.UpdateUser.Method, apiwire.UpdateUser.Path(name), ch, &u)
	return u, err
}

// CreateUserToken issues an API token for another account (administrators
// only). The returned Token's Secret is shown only now.
func (c *Client) CreateUserToken(ctx context.Context, user, name string) (Token, error) {
	var t Token
	err := c.call(ctx, apiwire.CreateUserToken.Method, apiwire.CreateUserToken.Path(user), apiwire.CreateTokenRequest{Name: name}, &t)
	return t, err
}

// AllTokens lists every account's API tokens (administrators only).
func (c *Client) AllTokens(ctx context.Context) ([]Token, error) {
	var out apiwire.TokenList
	err := c.call(ctx, apiwire.ListTokens.Method, apiwire.ListTokens.Path()+"?all=true", nil, &out)
	return out.Tokens, err
}

// DeleteToken revokes an API token.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	return c.call(ctx, apiwire.DeleteToken.Method, apiwire.DeleteToken.Path(id), nil, nil)
}

// CreateProduct registers a product with its first channels.
func (c *Client) CreateProduct(ctx context.Context, name, description string, channels []string) (Product, error) {
	if channels == nil {
		channels = []string{}
	}
	var p Product
	err := c.call(ctx, apiwire.CreateProduct.Method, apiwire.CreateProduct.Path(),
		apiwire.CreateProductRequest{Name: name, Description: description, Channels: channels}, &p)
	return p, err
}

// AddChannel adds a channel to a product.
func (c *Client) AddChannel(ctx context.Context, product, channel string) (Product, error) {
	var p Product
	err := c.call(ctx, apiwire.AddChannel.Method, apiwire.AddChannel.Path(product), apiwire.AddChannelRequest{Name: channel}, &p)
	return p, err
}

// AuditExport is the audit log as the server exported it.
type AuditExport struct {
	// Log is the export: one JSON entry a line (docs/api.md).
	Log []byte
	// Head is the head the server recorded when the export began, "SEQ
	// HASH"; the export must reach it.
	Head string
}

// maxAudit bounds an audit export read into memory.
const maxAudit = 256 << 20

// Audit downloads the whole audit log (administrators only).
func (c *Client) Audit(ctx context.Context) (AuditExport, error) {
	resp, err := c.do(ctx, apiwire.ExportAudit.Method, apiwire.ExportAudit.Path(), nil, "")
	if err != nil {
		return AuditExport{}, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(resp.Body, maxAudit+1)); err != nil {
		return AuditExport{}, usererr.Errorf("client", "reading the audit log: %w", err)
	}
	if buf.Len() > maxAudit {
		return AuditExport{}, errAuditTooLarge
	}
	return AuditExport{Log: buf.Bytes(), Head: resp.Header.Get("Trustforge-Audit-Head")}, nil
}

var errAuditTooLarge = usererr.New("client", "the audit log is larger than 256 MiB: export it with `trustforge audit export` on the server")

// Admins names the enabled administrators: whom to ask for an account, a
// product or a role.
func (c *Client) Admins(ctx context.Context) ([]string, error) {
	var out apiwire.AdminList
	err := c.call(ctx, apiwire.ListAdmins.Method, apiwire.ListAdmins.Path(), nil, &out)
	return out.Admins, err
}

// RevokeKey revokes a product's release-signing key: the server accepts
// no new release it signs. Releases it signed before stay listed.
func (c *Client) RevokeKey(ctx context.Context, product, fingerprint string) error {
	return c.call(ctx, apiwire.RevokeKey.Method, apiwire.RevokeKey.Path(product, fingerprint), nil, nil)
}
