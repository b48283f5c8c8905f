package keys

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"

	"trustforge/internal/usererr"
)

// PEM block types read and written by this package.
const (
	pemPrivate          = "PRIVATE KEY"
	pemPublic           = "PUBLIC KEY"
	pemECPrivate        = "EC PRIVATE KEY"
	pemEncryptedPrivate = "ENCRYPTED PRIVATE KEY"
)

// ParsePrivateKey reads a private key from a PEM file ("PRIVATE KEY" PKCS#8
// as `imgtool keygen` writes it, or "EC PRIVATE KEY" SEC1) or from PKCS#8 DER.
func ParsePrivateKey(data []byte) (*PrivateKey, error) {
	if isPEM(data) {
		block, err := decodePEM(data)
		if err != nil {
			return nil, err
		}
		switch block.Type {
		case pemPrivate:
			return ParsePKCS8(block.Bytes)
		case pemECPrivate:
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, usererr.Errorf("", "%w: EC private key: %v", ErrMalformed, err)
			}
			return newPrivate(k)
		case pemEncryptedPrivate:
			return nil, ErrEncryptedKey
		case pemPublic:
			return nil, usererr.Errorf("", "%w: this is a public key file; a private key is needed", ErrWrongUse)
		}
		return nil, usererr.Errorf("", "%w PEM block %q", ErrUnsupported, block.Type)
	}
	return ParsePKCS8(data)
}

// ParsePKCS8 reads a private key from PKCS#8 DER.
func ParsePKCS8(der []byte) (*PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, usererr.Errorf("", "%w: PKCS#8: %v", ErrMalformed, err)
	}
	return newPrivate(k)
}

// ParsePublicKey reads a public key from a "PUBLIC KEY" PEM file or from
// SubjectPublicKeyInfo DER (what `imgtool getpub -e raw` prints). Like
// imgtool, it also accepts a private key file and returns its public half.
func ParsePublicKey(data []byte) (*PublicKey, error) {
	if isPEM(data) {
		block, err := decodePEM(data)
		if err != nil {
			return nil, err
		}
		switch block.Type {
		case pemPublic:
			return ParseSPKI(block.Bytes)
		case pemPrivate, pemECPrivate, pemEncryptedPrivate:
			k, err := ParsePrivateKey(data)
			if err != nil {
				return nil, err
			}
			return k.Public(), nil
		}
		return nil, usererr.Errorf("", "%w PEM block %q", ErrUnsupported, block.Type)
	}
	if k, err := ParseSPKI(data); err == nil {
		return k, nil
	}
	k, err := ParsePKCS8(data)
	if err != nil {
		return nil, usererr.Errorf("", "%w: neither SubjectPublicKeyInfo nor PKCS#8 DER", ErrMalformed)
	}
	return k.Public(), nil
}

// ParseSPKI reads a public key from SubjectPublicKeyInfo DER.
func ParseSPKI(der []byte) (*PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, usererr.Errorf("", "%w: SubjectPublicKeyInfo: %v", ErrMalformed, err)
	}
	p, err := NewPublicKey(k)
	if err != nil {
		return nil, err
	}
	// Keep the caller's encoding only if it is the canonical one; anything
	// else would make key hashes differ from MCUboot's.
	if !bytes.Equal(p.spki, der) {
		return nil, usererr.Errorf("", "%w: SubjectPublicKeyInfo is not in canonical DER", ErrMalformed)
	}
	return p, nil
}

// MarshalPKCS8 returns the key as PKCS#8 DER.
func (k *PrivateKey) MarshalPKCS8() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Crypto())
	if err != nil {
		return nil, usererr.Errorf("keys", "encode %s private key: %w", k.alg, err)
	}
	return der, nil
}

// MarshalPEM returns the key as a "PRIVATE KEY" PKCS#8 PEM file, the format
// `imgtool keygen` writes.
func (k *PrivateKey) MarshalPEM() ([]byte, error) {
	der, err := k.MarshalPKCS8()
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Bytes: der}), nil
}

// MarshalPEM returns the key as a "PUBLIC KEY" PEM file, as `imgtool getpub
// -e pem` prints it.
func (k *PublicKey) MarshalPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: k.spki})
}

func isPEM(data []byte) bool {
	return bytes.Contains(data, []byte("-----BEGIN "))
}

// decodePEM returns the one PEM block in data. Text around it is allowed, as
// in files that carry a comment; a second key block is not, so that a file
// never silently means two keys.
func decodePEM(data []byte) (*pem.Block, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, usererr.Errorf("", "%w: no PEM block found", ErrMalformed)
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, usererr.Errorf("", "%w: more than one PEM block (%q, then %q)", ErrMalformed, block.Type, next.Type)
	}
	if len(block.Headers) != 0 {
		if _, ok := block.Headers["Proc-Type"]; ok {
			return nil, ErrEncryptedKey
		}
	}
	return block, nil
}
