package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"

	"trustforge/internal/usererr"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// oidNameConstraints is id-ce-nameConstraints (RFC 5280, 4.2.1.10).
var oidNameConstraints = asn1.ObjectIdentifier{2, 5, 29, 30}

var (
	tagPermitted = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagExcluded  = cbasn1.Tag(1).ContextSpecific().Constructed()
	tagDirName   = cbasn1.Tag(4).ContextSpecific().Constructed()
)

// nameConstraintsExt returns a critical name constraints extension whose
// only permitted subtree is the directory name base.
func nameConstraintsExt(base Name) (pkix.Extension, error) {
	der, err := base.marshal()
	if err != nil {
		return pkix.Extension{}, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(tagPermitted, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(tagDirName, func(b *cryptobyte.Builder) { b.AddBytes(der) })
			})
		})
	})
	v, err := b.Bytes()
	if err != nil {
		return pkix.Extension{}, usererr.Errorf("pki", "encoding name constraints: %w", err)
	}
	return pkix.Extension{Id: oidNameConstraints, Critical: true, Value: v}, nil
}

// dirConstraints are the directory-name subtrees of a CA's name
// constraints.
type dirConstraints struct {
	permitted, excluded []Name
	// others is set when the extension has subtrees of other name types.
	others bool
}

// parseDirConstraints reads the directory-name subtrees of a name
// constraints extension value, and notes whether it has others.
func parseDirConstraints(v []byte) (dirConstraints, error) {
	var dc dirConstraints
	in := cryptobyte.String(v)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return dc, usererr.Errorf("", "%w: name constraints", ErrMalformed)
	}
	for _, part := range []struct {
		tag cbasn1.Tag
		out *[]Name
	}{{tagPermitted, &dc.permitted}, {tagExcluded, &dc.excluded}} {
		var subtrees cryptobyte.String
		var present bool
		if !seq.ReadOptionalASN1(&subtrees, &present, part.tag) {
			return dc, usererr.Errorf("", "%w: name constraints", ErrMalformed)
		}
		for !subtrees.Empty() {
			var st, base cryptobyte.String
			var tag cbasn1.Tag
			if !subtrees.ReadASN1(&st, cbasn1.SEQUENCE) || !st.ReadAnyASN1(&base, &tag) {
				return dc, usererr.Errorf("", "%w: name constraints subtree", ErrMalformed)
			}
			if tag != tagDirName {
				dc.others = true
				continue
			}
			n, err := parseName(base)
			if err != nil {
				return dc, usererr.Errorf("", "%w: name constraints directory name: %v", ErrMalformed, err)
			}
			*part.out = append(*part.out, n)
		}
	}
	if !seq.Empty() {
		return dc, usererr.Errorf("", "%w: data after name constraints", ErrMalformed)
	}
	return dc, nil
}

// constraintsOf returns c's directory-name constraints and whether it has
// any.
func constraintsOf(c *x509.Certificate) (dirConstraints, bool, error) {
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidNameConstraints) {
			continue
		}
		dc, err := parseDirConstraints(e.Value)
		if err != nil {
			return dc, false, err
		}
		return dc, len(dc.permitted)+len(dc.excluded) > 0, nil
	}
	return dirConstraints{}, false, nil
}

// allows reports whether a certificate subject is allowed by dc.
func (dc dirConstraints) allows(subject Name) bool {
	if len(subject) == 0 {
		return true // RFC 5280: an empty subject is checked by its alternative names only
	}
	for _, ex := range dc.excluded {
		if subject.within(ex) {
			return false
		}
	}
	if len(dc.permitted) == 0 {
		return true
	}
	for _, p := range dc.permitted {
		if subject.within(p) {
			return true
		}
	}
	return false
}

// handleDirConstraints checks the directory-name constraints of every CA
// of path (leaf first, root last) against the subjects below it. It
// returns path with each CA whose name constraints it evaluated replaced
// by a copy without them, for the standard library's verifier: that one
// does not evaluate directory names, and refuses URN alternative names
// under any name constraints. CAs whose constraints name other types are
// refused, so nothing is left unchecked.
func handleDirConstraints(path []*x509.Certificate) ([]*x509.Certificate, error) {
	out := append([]*x509.Certificate(nil), path...)
	for i := len(path) - 1; i >= 1; i-- {
		dc, ok, err := constraintsOf(path[i])
		if err != nil {
			return nil, err
		}
		c := path[i]
		if dc.others || len(c.PermittedDNSDomains)+len(c.ExcludedDNSDomains)+len(c.PermittedEmailAddresses)+
			len(c.ExcludedEmailAddresses)+len(c.PermittedIPRanges)+len(c.ExcludedIPRanges)+
			len(c.PermittedURIDomains)+len(c.ExcludedURIDomains) > 0 {
			return nil, usererr.Errorf("", "%w: %q has name constraints on other names than directory names", ErrChain, c.Subject.String())
		}
		if !ok {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			subj, err := parseName(path[j].RawSubject)
			if err != nil {
				return nil, usererr.Errorf("", "%w: certificate %d subject: %v", ErrChain, j, err)
			}
			if !dc.allows(subj) {
				return nil, usererr.Errorf("", "%w: %q is outside the name constraints of %q", ErrChain, subj, path[i].Subject.String())
			}
		}
		cp := *c
		cp.Extensions = slices.DeleteFunc(slices.Clone(c.Extensions),
			func(e pkix.Extension) bool { return e.Id.Equal(oidNameConstraints) })
		markHandled(&cp)
		out[i] = &cp
	}
	return out, nil
}

// markHandled removes the name constraints extension from c's unhandled
// critical extensions.
func markHandled(c *x509.Certificate) {
	c.UnhandledCriticalExtensions = slices.DeleteFunc(slices.Clone(c.UnhandledCriticalExtensions),
		func(id asn1.ObjectIdentifier) bool { return id.Equal(oidNameConstraints) })
}
