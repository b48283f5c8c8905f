package client

import "trustforge/internal/apiwire"

// The API's bodies, as the contract (apiwire) declares them.
type (
	// Session is who is signed in.
	Session = apiwire.Session
	// User is an account, as an administrator sees it.
	User = apiwire.User
	// Token is an API token; Secret is set only in the answer that creates it.
	Token = apiwire.Token
	// Product is a registered product line.
	Product = apiwire.Product
	// Key is a release-signing public key registered for a product.
	Key = apiwire.Key
	// Recipient is an account's published age recipient.
	Recipient = apiwire.Recipient
	// Yank says when and why a release was withdrawn.
	Yank = apiwire.Yank
	// Offer is a channel a release is offered on.
	Offer = apiwire.Offer
	// Release is the server's record of a release. Its fields are the
	// server's claims: verify the signed manifest before relying on them.
	Release = apiwire.Release
	// Device is a provisioned board in the device registry.
	Device = apiwire.Device
	// DeviceRevoked says when and why a board's certificate was revoked.
	DeviceRevoked = apiwire.Yank
	// DeviceRegistration is what RegisterDevice sends: public material only.
	DeviceRegistration = apiwire.DeviceRegistration
	// DeviceRoot is a device CA root registered as a trust anchor of a
	// product.
	DeviceRoot = apiwire.DeviceRoot
)
