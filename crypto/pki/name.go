package pki

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"unicode/utf8"

	"trustforge/internal/usererr"
)

// Attribute is one attribute of a distinguished name, such as CN=thermo-1a2b.
type Attribute struct {
	// Type is the attribute's short name: C, ST, L, O, OU, CN or
	// serialNumber.
	Type string `json:"type" cbor:"0,keyasint"`
	// Value is the attribute's text.
	Value string `json:"value" cbor:"1,keyasint"`
}

// Name is a distinguished name: its attributes in order, most significant
// first (O=Acme, OU=thermo, CN=thermo-1a2b), one attribute per RDN.
type Name []Attribute

// MaxAttrLen bounds an attribute value, in bytes (X.520's ub-common-name
// is 64 characters; organisation names are as long).
const MaxAttrLen = 64

var attrOIDs = []struct {
	name string
	oid  asn1.ObjectIdentifier
}{
	{"C", asn1.ObjectIdentifier{2, 5, 4, 6}},
	{"ST", asn1.ObjectIdentifier{2, 5, 4, 8}},
	{"L", asn1.ObjectIdentifier{2, 5, 4, 7}},
	{"O", asn1.ObjectIdentifier{2, 5, 4, 10}},
	{"OU", asn1.ObjectIdentifier{2, 5, 4, 11}},
	{"CN", asn1.ObjectIdentifier{2, 5, 4, 3}},
	{"serialNumber", asn1.ObjectIdentifier{2, 5, 4, 5}},
}

func attrOID(name string) (asn1.ObjectIdentifier, bool) {
	for _, a := range attrOIDs {
		if a.name == name {
			return a.oid, true
		}
	}
	return nil, false
}

func attrName(oid asn1.ObjectIdentifier) (string, bool) {
	for _, a := range attrOIDs {
		if a.oid.Equal(oid) {
			return a.name, true
		}
	}
	return "", false
}

// Validate checks that every attribute has a known type and a value of 1
// to MaxAttrLen bytes of printable UTF-8.
func (n Name) Validate() error {
	if len(n) == 0 {
		return usererr.Errorf("", "%w: empty distinguished name", ErrInvalid)
	}
	if len(n) > 16 {
		return usererr.Errorf("", "%w: distinguished name of %d attributes", ErrInvalid, len(n))
	}
	for _, a := range n {
		if _, ok := attrOID(a.Type); !ok {
			return usererr.Errorf("", "%w: attribute type %q (want C, ST, L, O, OU, CN or serialNumber)", ErrInvalid, a.Type)
		}
		if err := checkText(a.Type, a.Value, MaxAttrLen); err != nil {
			return err
		}
		if a.Type == "C" && len(a.Value) != 2 {
			return usererr.Errorf("", "%w: country %q is not a two-letter code", ErrInvalid, a.Value)
		}
	}
	return nil
}

// checkText checks that s is 1 to max bytes of UTF-8 without control
// characters.
func checkText(what, s string, max int) error {
	if s == "" || len(s) > max {
		return usererr.Errorf("", "%w: %s must be 1 to %d bytes", ErrInvalid, what, max)
	}
	if !utf8.ValidString(s) {
		return usererr.Errorf("", "%w: %s is not UTF-8", ErrInvalid, what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return usererr.Errorf("", "%w: %s has control characters", ErrInvalid, what)
		}
	}
	return nil
}

// rdns returns n as an RDN sequence, one attribute per RDN, in order.
func (n Name) rdns() pkix.RDNSequence {
	seq := make(pkix.RDNSequence, 0, len(n))
	for _, a := range n {
		oid, _ := attrOID(a.Type)
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{Type: oid, Value: a.Value}})
	}
	return seq
}

// DER returns the DER encoding of n, as a certificate or request's
// RawSubject, after Validate.
func (n Name) DER() ([]byte, error) { return n.marshal() }

// marshal returns the DER encoding of n.
func (n Name) marshal() ([]byte, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	b, err := asn1.Marshal(n.rdns())
	if err != nil {
		return nil, usererr.Errorf("pki", "encoding name: %w", err)
	}
	return b, nil
}

// parseName decodes a DER Name into attributes. Multi-valued RDNs and
// unknown attribute types are refused: trustforge never issues them.
func parseName(der []byte) (Name, error) {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil || len(rest) != 0 {
		return nil, usererr.Errorf("", "%w: distinguished name is not DER", ErrMalformed)
	}
	n := make(Name, 0, len(seq))
	for _, rdn := range seq {
		if len(rdn) != 1 {
			return nil, usererr.Errorf("", "%w: multi-valued RDN", ErrSubject)
		}
		t, ok := attrName(rdn[0].Type)
		if !ok {
			return nil, usererr.Errorf("", "%w: attribute %v", ErrSubject, rdn[0].Type)
		}
		v, ok := rdn[0].Value.(string)
		if !ok {
			return nil, usererr.Errorf("", "%w: attribute %s is not a string", ErrSubject, t)
		}
		n = append(n, Attribute{Type: t, Value: v})
	}
	return n, nil
}

// Equal reports whether n and m have the same attributes in the same order.
func (n Name) Equal(m Name) bool {
	if len(n) != len(m) {
		return false
	}
	for i := range n {
		if n[i] != m[i] {
			return false
		}
	}
	return true
}

// within reports whether n lies in the subtree base: base's attributes
// are n's first ones (types equal, values equal ignoring case, as
// RFC 5280's name comparison and OpenSSL's canonical form do).
func (n Name) within(base Name) bool {
	if len(base) > len(n) {
		return false
	}
	for i, a := range base {
		if n[i].Type != a.Type || !strings.EqualFold(n[i].Value, a.Value) {
			return false
		}
	}
	return true
}

// Get returns the value of the last attribute of type t, or "".
func (n Name) Get(t string) string {
	for i := len(n) - 1; i >= 0; i-- {
		if n[i].Type == t {
			return n[i].Value
		}
	}
	return ""
}

// String formats n as "O=Acme, OU=thermo, CN=thermo-1a2b", most
// significant first, escaping ',', '+', '=', '\' and '"' with a backslash.
func (n Name) String() string {
	parts := make([]string, len(n))
	r := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `+`, `\+`, `=`, `\=`, `"`, `\"`)
	for i, a := range n {
		parts[i] = a.Type + "=" + r.Replace(a.Value)
	}
	return strings.Join(parts, ", ")
}
