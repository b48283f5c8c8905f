package espimg

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"

	"trustforge/internal/usererr"
)

// GenerateKey makes a new Secure Boot v2 signing key of the scheme.
func GenerateKey(rand io.Reader, s Scheme) (crypto.Signer, error) {
	switch s {
	case RSA3072:
		return rsa.GenerateKey(rand, rsaBits)
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand)
	}
	return nil, usererr.Errorf("", "%w: unknown scheme %v", ErrKey, s)
}

// ParseScheme reads a scheme as espsecure names it: "rsa3072" or
// "ecdsa256".
func ParseScheme(s string) (Scheme, error) {
	switch s {
	case "rsa3072":
		return RSA3072, nil
	case "ecdsa256":
		return ECDSAP256, nil
	}
	return 0, usererr.Errorf("", "%w: scheme %q (rsa3072 or ecdsa256)", ErrKey, s)
}

// MarshalPrivateKey writes a signing key as PEM in the form espsecure
// writes it: PKCS#1 "RSA PRIVATE KEY" or SEC1 "EC PRIVATE KEY".
func MarshalPrivateKey(k crypto.Signer) ([]byte, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, usererr.Errorf("", "%w: %v", ErrKey, err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
	}
	return nil, usererr.Errorf("", "%w: %T", ErrKey, k)
}

// MarshalPublicKey writes a public key as SubjectPublicKeyInfo PEM
// ("PUBLIC KEY"), as `espsecure extract_public_key --version 2` does.
func MarshalPublicKey(pub any) ([]byte, error) {
	if _, _, err := publicKeyBytes(pub); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, usererr.Errorf("", "%w: %v", ErrKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePrivateKey reads a Secure Boot v2 signing key from PEM: PKCS#1,
// SEC1 or unencrypted PKCS#8, RSA-3072 or P-256.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	blk, err := firstPEM(data)
	if err != nil {
		return nil, err
	}
	var k any
	switch blk.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, usererr.Errorf("", "%w: the key file is password-protected; decrypt it first", ErrKey)
	case "PUBLIC KEY":
		return nil, usererr.Errorf("", "%w: this is a public key; signing needs the private key", ErrKey)
	default:
		return nil, usererr.Errorf("", "%w: PEM block %q is not a private key", ErrKey, blk.Type)
	}
	if err != nil {
		return nil, usererr.Errorf("", "%w: %v", ErrKey, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, usererr.Errorf("", "%w: %T cannot sign", ErrKey, k)
	}
	if _, _, err := publicKeyBytes(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// ParsePublicKey reads a Secure Boot v2 public key from PEM: a
// SubjectPublicKeyInfo "PUBLIC KEY", a PKCS#1 "RSA PUBLIC KEY", or the
// public half of any private key ParsePrivateKey reads.
func ParsePublicKey(data []byte) (any, error) {
	blk, err := firstPEM(data)
	if err != nil {
		return nil, err
	}
	var pub any
	switch blk.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(blk.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(blk.Bytes)
	default:
		s, perr := ParsePrivateKey(data)
		if perr != nil {
			return nil, perr
		}
		pub = s.Public()
	}
	if err != nil {
		return nil, usererr.Errorf("", "%w: %v", ErrKey, err)
	}
	if _, _, err := publicKeyBytes(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

func firstPEM(data []byte) (*pem.Block, error) {
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			return nil, usererr.Errorf("", "%w: no PEM block in the key file", ErrKey)
		}
		if blk.Type == "EC PARAMETERS" { // python-ecdsa and openssl ecparam write one first
			continue
		}
		return blk, nil
	}
}

// SchemeOf reports the scheme of a public key.
func SchemeOf(pub any) (Scheme, error) {
	_, s, err := publicKeyBytes(pub)
	return s, err
}
