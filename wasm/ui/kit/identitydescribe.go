package kit

import (
	"errors"
	"strings"

	"trustforge/crypto/pki"
	"trustforge/devices/provision"
	"trustforge/internal/apiwire"
)

// DescribeIdentity turns an error of the CA, the provisioning flow or the
// registry into the sentence a person sees.
func DescribeIdentity(err error) string {
	msg := func() string {
		s := err.Error()
		for _, p := range []string{"pki: ", "provision: ", "smp: "} {
			s = strings.ReplaceAll(s, p, "")
		}
		return UpperFirst(strings.TrimSuffix(s, ".")) + "."
	}
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
