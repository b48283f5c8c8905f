package provision

import (
	"context"
	"time"
)

// Record is what a device registry keeps of a provisioned board: public
// material only.
type Record struct {
	// DeviceID is the board's unique id, lowercase hex.
	DeviceID string
	// Product is the board's product.
	Product string
	// Model and Rev are the board's hardware model and revision.
	Model, Rev string
	// Chain is the board's certificate chain, concatenated DER: its
	// certificate, the intermediate, the root.
	Chain []byte
	// EncryptionKey is the SubjectPublicKeyInfo DER of the board's X25519
	// image encryption key; nil when the product does not encrypt images
	// to each board.
	EncryptionKey []byte
	// BootKeyHash is the hex SHA-256 of the boot key fused into the board,
	// or empty.
	BootKeyHash string
}

// Registered is a registry's record of a board.
type Registered struct {
	Record
	// Provisioned is when the board was registered, by Operator.
	Provisioned time.Time
	Operator    string
	// Revoked is set once the board's certificate was revoked.
	Revoked bool
}

// Registry is where provisioned boards are recorded: the release server's
// device registry.
type Registry interface {
	// Lookup returns the record of a device id, or nil when there is none.
	Lookup(ctx context.Context, deviceID string) (*Registered, error)
	// Register records a board. It fails if the device id is already
	// registered.
	Register(ctx context.Context, r Record) error
}
