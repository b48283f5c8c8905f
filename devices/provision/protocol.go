package provision

import (
	"encoding/hex"
	"fmt"

	"trustforge/devices/smp"
)

// Group is the provisioning group's SMP group id, the first user group.
const Group = smp.GroupPerUser

// Commands of the provisioning group.
const (
	CmdInfo    = 0 // read: the board's id, model and provisioning state
	CmdIDKey   = 1 // read: the identity public key; write: generate it
	CmdCSR     = 2 // read: a certificate request signed by the identity key
	CmdChain   = 3 // write: upload the certificate chain; read: download it
	CmdBootKey = 4 // write: fuse the boot key hash once; read: the hash
	CmdEncKey  = 5 // write: generate the image encryption key if none; read: it
	CmdLock    = 6 // write: lock the board
)

// Group error codes (SMP version 2 "err" codes of Group).
const (
	ErrCodeUnknown          = 1
	ErrCodeLocked           = 2  // the board is locked: provisioning writes are refused
	ErrCodeNoIdentityKey    = 3  // no identity key yet
	ErrCodeBadSubject       = 4  // the request's subject cannot be encoded
	ErrCodeChainInvalid     = 5  // the chain does not parse or its signatures do not link
	ErrCodeChainKeyMismatch = 6  // the chain's first certificate is not for the identity key
	ErrCodeAlreadySet       = 7  // the boot key hash is fused with another value
	ErrCodeNotSet           = 8  // nothing to read: not generated or installed yet
	ErrCodeBadOffset        = 9  // a chain chunk at an unexpected offset
	ErrCodeTooLarge         = 10 // a chain larger than the board stores
	ErrCodeBadAlgorithm     = 11 // an algorithm the board does not support
	ErrCodeWrongDevice      = 12 // lock confirmed with another device id
	ErrCodeStorage          = 13 // writing the board's storage failed
)

type codeText struct{ name, text string }

var codeTexts = [...]codeText{
	ErrCodeUnknown:          {"PROV_ERR_UNKNOWN", "unknown provisioning error"},
	ErrCodeLocked:           {"PROV_ERR_LOCKED", "the board is locked: provisioning writes are refused"},
	ErrCodeNoIdentityKey:    {"PROV_ERR_NO_IDENTITY_KEY", "the board has no identity key yet"},
	ErrCodeBadSubject:       {"PROV_ERR_BAD_SUBJECT", "the board cannot encode that subject"},
	ErrCodeChainInvalid:     {"PROV_ERR_CHAIN_INVALID", "the board refused the certificate chain as invalid"},
	ErrCodeChainKeyMismatch: {"PROV_ERR_CHAIN_KEY_MISMATCH", "the certificate is not for the board's identity key"},
	ErrCodeAlreadySet:       {"PROV_ERR_ALREADY_SET", "the boot key hash is already fused with another value"},
	ErrCodeNotSet:           {"PROV_ERR_NOT_SET", "not generated or installed yet"},
	ErrCodeBadOffset:        {"PROV_ERR_BAD_OFFSET", "chain chunk at an unexpected offset"},
	ErrCodeTooLarge:         {"PROV_ERR_TOO_LARGE", "the chain is larger than the board stores"},
	ErrCodeBadAlgorithm:     {"PROV_ERR_BAD_ALGORITHM", "the board does not support that algorithm"},
	ErrCodeWrongDevice:      {"PROV_ERR_WRONG_DEVICE", "the lock names another device id"},
	ErrCodeStorage:          {"PROV_ERR_STORAGE", "writing the board's storage failed"},
}

// CodeName returns a group error code's symbolic name.
func CodeName(code int) string {
	if code > 0 && code < len(codeTexts) {
		return codeTexts[code].name
	}
	return fmt.Sprintf("PROV_ERR_%d", code)
}

// CodeText describes a group error code in words.
func CodeText(code int) string {
	if code > 0 && code < len(codeTexts) {
		return codeTexts[code].text
	}
	return "the board reported a provisioning error"
}

// LegacyRC is the SMP version 1 rc a board answers for a group error code,
// as a Zephyr group's translation function maps it.
func LegacyRC(code int) smp.RC {
	switch code {
	case ErrCodeLocked:
		return smp.RCAccessDenied
	case ErrCodeNoIdentityKey, ErrCodeAlreadySet:
		return smp.RCBadState
	case ErrCodeNotSet:
		return smp.RCNoEntry
	case ErrCodeBadAlgorithm:
		return smp.RCNotSupported
	case ErrCodeBadSubject, ErrCodeChainInvalid, ErrCodeChainKeyMismatch, ErrCodeBadOffset, ErrCodeTooLarge, ErrCodeWrongDevice:
		return smp.RCInvalid
	}
	return smp.RCUnknown
}

// Limits of the protocol.
const (
	// MaxIDLen bounds a board's unique id, in bytes.
	MaxIDLen = 32
	// MaxChainLen bounds the chain a board stores, in bytes.
	MaxChainLen = 4096
	// BootKeyHashLen is the size of the fused boot key hash (SHA-256).
	BootKeyHashLen = 32
)

// Algorithm names carried in the protocol.
const (
	AlgP256   = "p256"
	AlgX25519 = "x25519"
)

// InfoResponse is the answer to CmdInfo.
type InfoResponse struct {
	ID      []byte `cbor:"id"`
	Model   string `cbor:"model"`
	Rev     string `cbor:"rev"`
	IDKey   bool   `cbor:"idkey"`
	Chain   bool   `cbor:"chain"`
	BootKey bool   `cbor:"bootkey"`
	EncKey  bool   `cbor:"enckey"`
	Locked  bool   `cbor:"locked"`
}

// KeyRequest asks CmdIDKey or CmdEncKey (write) to generate a key.
type KeyRequest struct {
	Alg string `cbor:"alg,omitempty"`
}

// KeyResponse carries a public key as SubjectPublicKeyInfo DER.
type KeyResponse struct {
	Key []byte `cbor:"key"`
}

// CSRRequest asks CmdCSR for a certificate request. Subject lists the
// attributes, most significant first, each a [type, value] pair.
type CSRRequest struct {
	Subject [][2]string `cbor:"subject"`
	URI     string      `cbor:"uri,omitempty"`
}

// CSRResponse carries a PKCS#10 request, DER.
type CSRResponse struct {
	CSR []byte `cbor:"csr"`
}

// ChainChunk is one chunk of a chain upload (CmdChain write). Len is
// sent with the first chunk only.
type ChainChunk struct {
	Off  uint64  `cbor:"off"`
	Len  *uint64 `cbor:"len,omitempty"`
	Data []byte  `cbor:"data"`
}

// OffsetResponse is the board's next expected offset.
type OffsetResponse struct {
	Off uint64 `cbor:"off"`
}

// ChainReadRequest asks CmdChain (read) for the chain from Off.
type ChainReadRequest struct {
	Off uint64 `cbor:"off"`
}

// ChainReadResponse is a chunk of the stored chain.
type ChainReadResponse struct {
	Off  uint64 `cbor:"off"`
	Len  uint64 `cbor:"len"`
	Data []byte `cbor:"data"`
}

// BootKeyMessage carries the boot key hash (CmdBootKey).
type BootKeyMessage struct {
	Hash []byte `cbor:"hash"`
}

// LockRequest locks the board whose id is ID (CmdLock).
type LockRequest struct {
	ID []byte `cbor:"id"`
}

// DeviceID formats a board's unique id as trustforge shows and registers
// it: lowercase hex.
func DeviceID(id []byte) string { return hex.EncodeToString(id) }
