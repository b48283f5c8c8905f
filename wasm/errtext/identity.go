package errtext

import (
	"errors"

	"trustforge/crypto/pki"
	"trustforge/devices/provision"
	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
)

// Identity is [Describe] for errors of the product CA, the provisioning
// flow and the device registry.
func Identity(err error) string {
	msg := func() string { return Sentence(usererr.Message(err)) }
	switch {
	case err == nil:
		return ""
	case errors.Is(err, provision.ErrLocked):
		return "Refused: " + msg() + " A locked board is never provisioned twice."
	case errors.Is(err, provision.ErrClone):
		return "Refused: " + msg()
	case errors.Is(err, pki.ErrWrongDevice), errors.Is(err, pki.ErrBadSignature), errors.Is(err, pki.ErrKeyType),
		errors.Is(err, pki.ErrSubject), errors.Is(err, pki.ErrKeyMismatch):
		return "Refused: " + msg() + " Nothing was written to the board."
	case errors.Is(err, pki.ErrExists), errors.Is(err, pki.ErrInvalid), errors.Is(err, pki.ErrNotFound),
		errors.Is(err, pki.ErrChain), errors.Is(err, pki.ErrMalformed), errors.Is(err, pki.ErrWrongPassphrase):
		return msg()
	case errors.Is(err, apiwire.CodeDeviceRegistered):
		return "Refused by the registry: " + msg()
	}
	var pe *provision.Error
	if errors.As(err, &pe) {
		return msg()
	}
	return Describe(err)
}
