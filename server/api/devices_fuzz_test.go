package api

import (
	"bytes"
	"errors"
	"testing"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
)

// FuzzDeviceBodies feeds the device registry's request bodies, and the
// chains, keys and CRLs they carry, to their parsers.
func FuzzDeviceBodies(f *testing.F) {
	for i, s := range []string{
		`{"id":"00aa","product":"sensor","model":"m","rev":"A","chain":"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n","encryption_key":"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n","boot_key_hash":""}`,
		`{"reason":"keyCompromise"}`,
		`{"crl":"-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n"}`,
		`{"id":"00AA","product":"x","chain":"-----BEGIN PRIVATE KEY-----"}`,
	} {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		var dst validator
		switch kind % 3 {
		case 0:
			dst = new(registerDeviceRequest)
		case 1:
			dst = new(revokeDeviceRequest)
		case 2:
			dst = new(publishCRLRequest)
		}
		err := decodeBody(bytes.NewReader(body), 64<<10, dst)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("error %v is not an *Error", err)
		}
		if e != nil && (e.Status < 400 || e.Status > 499) {
			t.Fatalf("status %d for a bad body", e.Status)
		}
		if err != nil {
			return
		}
		switch q := dst.(type) {
		case *registerDeviceRequest:
			if c, err := pki.ParseChain([]byte(q.Chain)); err == nil {
				pki.VerifyDevice(c, pki.DeviceCheck{Roots: c[len(c)-1:]})
			}
			keys.ParsePublicKey([]byte(q.EncryptionKey))
		case *publishCRLRequest:
			pki.ParseCRL([]byte(q.CRL), nil)
		}
	})
}
