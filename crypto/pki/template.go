package pki

import (
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	"trustforge/internal/usererr"
)

// Placeholders of template patterns.
const (
	PlaceholderID      = "{id}"
	PlaceholderProduct = "{product}"
)

// Template defaults.
const (
	DefaultCommonName = "{product}-{id}"
	// DefaultURI is an RFC 9039 device URN under the documentation private
	// enterprise number 32473 (RFC 5612): set your own organisation's.
	DefaultURI = "urn:dev:ops:32473-{product}-{id}"
)

// MaxDeviceIDLen bounds a device's unique id, in bytes (64 hex digits).
const MaxDeviceIDLen = 32

// Template is what a product's device certificates look like. The zero
// value is usable: CN "{product}-{id}", SAN URI
// "urn:dev:ops:32473-{product}-{id}", no expiry, TLS client authentication.
type Template struct {
	// CommonName is the subject CN pattern: "{id}" stands for the device's
	// unique id (lowercase hex) and must appear once; "{product}" for the
	// product. Empty means DefaultCommonName.
	CommonName string `json:"common_name,omitempty"`
	// URI is the subjectAltName URI pattern, a "urn:dev:" URN (RFC 9039)
	// with "{id}" once and optionally "{product}". Empty means DefaultURI.
	URI string `json:"uri,omitempty"`
	// Validity is how long device certificates are valid. Zero means no
	// well-defined expiry (notAfter 99991231235959Z).
	Validity time.Duration `json:"validity,omitempty"`
	// ServerAuth adds TLS server authentication to the extended key usages
	// (client authentication is always there), for boards that serve TLS.
	ServerAuth bool `json:"server_auth,omitempty"`
	// CRLURL, if set, is put in certificates as their CRL distribution
	// point: where relying parties fetch the issuer's revocation list.
	CRLURL string `json:"crl_url,omitempty"`
}

func (t Template) commonName() string {
	if t.CommonName == "" {
		return DefaultCommonName
	}
	return t.CommonName
}

func (t Template) uri() string {
	if t.URI == "" {
		return DefaultURI
	}
	return t.URI
}

// Validate checks the patterns and options.
func (t Template) Validate() error {
	for _, p := range []struct{ what, pat string }{{"common name", t.commonName()}, {"URI", t.uri()}} {
		if strings.Count(p.pat, PlaceholderID) != 1 {
			return usererr.Errorf("", "%w: the %s pattern %q must contain %s once", ErrInvalid, p.what, p.pat, PlaceholderID)
		}
		rest := strings.ReplaceAll(strings.ReplaceAll(p.pat, PlaceholderID, ""), PlaceholderProduct, "")
		if strings.ContainsAny(rest, "{}") {
			return usererr.Errorf("", "%w: the %s pattern %q has an unknown placeholder (use %s and %s)", ErrInvalid, p.what, p.pat, PlaceholderID, PlaceholderProduct)
		}
	}
	if !strings.HasPrefix(t.uri(), "urn:dev:") {
		return usererr.Errorf("", "%w: the URI pattern %q is not a urn:dev: device URN (RFC 9039)", ErrInvalid, t.uri())
	}
	if t.Validity < 0 {
		return usererr.Errorf("", "%w: negative validity", ErrInvalid)
	}
	if t.CRLURL != "" {
		u, err := url.Parse(t.CRLURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usererr.Errorf("", "%w: CRL URL %q is not an http(s) URL", ErrInvalid, t.CRLURL)
		}
	}
	return nil
}

// ParseDeviceID checks a device's unique id given as hex and returns it in
// canonical form (lowercase).
func ParseDeviceID(id string) (string, error) {
	b, err := hex.DecodeString(id)
	if err != nil || len(b) == 0 || len(b) > MaxDeviceIDLen {
		return "", usererr.Errorf("", "%w: device id %q is not 1 to %d bytes of hex", ErrInvalid, id, MaxDeviceIDLen)
	}
	return hex.EncodeToString(b), nil
}

// Subject is what a device's certificate says it is.
type Subject struct {
	// Name is the certificate's subject: the issuer's subtree plus CN.
	Name Name
	// URI is the subjectAltName URI.
	URI string
}

// Render returns the subject and URI that base (the issuing
// intermediate's subtree: O, OU) and the template give device id of
// product.
func (t Template) Render(base Name, product, deviceID string) (Subject, error) {
	if err := t.Validate(); err != nil {
		return Subject{}, err
	}
	id, err := ParseDeviceID(deviceID)
	if err != nil {
		return Subject{}, err
	}
	r := strings.NewReplacer(PlaceholderID, id, PlaceholderProduct, product)
	n := append(append(Name{}, base...), Attribute{"CN", r.Replace(t.commonName())})
	if err := n.Validate(); err != nil {
		return Subject{}, usererr.Errorf("", "device subject: %w", err)
	}
	uri := r.Replace(t.uri())
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "urn" || u.Opaque == "" || u.String() != uri {
		return Subject{}, usererr.Errorf("", "%w: device URI %q is not a URN", ErrInvalid, uri)
	}
	return Subject{Name: n, URI: uri}, nil
}

// idFromCN returns the device id that a common name made by the template
// for product carries, if it has the template's shape.
func (t Template) idFromCN(cn, product string) (string, bool) {
	return idFromPattern(t.commonName(), product, cn)
}

// idFromURI is idFromCN for the URI.
func (t Template) idFromURI(uri, product string) (string, bool) {
	return idFromPattern(t.uri(), product, uri)
}

func idFromPattern(pattern, product, s string) (string, bool) {
	pat := strings.ReplaceAll(pattern, PlaceholderProduct, product)
	pre, post, _ := strings.Cut(pat, PlaceholderID)
	if len(s) < len(pre)+len(post) || !strings.HasPrefix(s, pre) || !strings.HasSuffix(s, post) {
		return "", false
	}
	id, err := ParseDeviceID(s[len(pre) : len(s)-len(post)])
	return id, err == nil
}

// CheckProduct checks a product name as the release server does: 1 to 64
// ASCII letters, digits, '.', '_' or '-', starting with a letter or digit.
func CheckProduct(s string) error {
	ok := s != "" && len(s) <= 64
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			ok = false
		}
	}
	if !ok {
		return usererr.Errorf("", "%w: product %q is not a valid name (1-64 letters, digits, '.', '_', '-')", ErrInvalid, s)
	}
	return nil
}
