package bundle

import (
	"fmt"
	"strconv"
	"strings"

	"trustforge/internal/usererr"
)

// maxVersionLen bounds the text form of a Version.
const maxVersionLen = 128

// Version is a Semantic Versioning 2.0.0 version: MAJOR.MINOR.PATCH with an
// optional pre-release ("-rc.1") and build metadata ("+4"). MCUboot's
// major.minor.revision+build maps onto it directly.
//
// Versions are comparable with ==, which also compares build metadata; use
// Compare for release order.
type Version struct {
	Major, Minor, Patch uint64
	// Prerelease is the dot-separated pre-release, without its "-"; empty for
	// a release version.
	Prerelease string
	// Build is the dot-separated build metadata, without its "+". It does not
	// take part in ordering.
	Build string
}

// ParseVersion parses a Semantic Versioning 2.0.0 version such as "1.2.3",
// "1.3.0-rc.1" or "1.2.3+4". A leading "v" is not accepted.
func ParseVersion(s string) (Version, error) {
	var v Version
	if len(s) > maxVersionLen {
		return v, usererr.Errorf("", "%w: version longer than %d bytes", ErrMalformed, maxVersionLen)
	}
	rest := s
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		v.Build = rest[i+1:]
		rest = rest[:i]
		if err := checkIdentifiers(v.Build, false); err != nil {
			return Version{}, usererr.Errorf("", "%w: version %q: build metadata: %v", ErrMalformed, s, err)
		}
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		v.Prerelease = rest[i+1:]
		rest = rest[:i]
		if err := checkIdentifiers(v.Prerelease, true); err != nil {
			return Version{}, usererr.Errorf("", "%w: version %q: pre-release: %v", ErrMalformed, s, err)
		}
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return Version{}, usererr.Errorf("", "%w: version %q: want MAJOR.MINOR.PATCH", ErrMalformed, s)
	}
	nums := [3]*uint64{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		n, err := parseNumeric(p)
		if err != nil {
			return Version{}, usererr.Errorf("", "%w: version %q: %v", ErrMalformed, s, err)
		}
		*nums[i] = n
	}
	return v, nil
}

// parseNumeric parses a numeric identifier: digits, no leading zero.
func parseNumeric(p string) (uint64, error) {
	if p == "" {
		return 0, usererr.Errorf("", "empty number")
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return 0, usererr.Errorf("", "%q is not a number", p)
		}
	}
	if len(p) > 1 && p[0] == '0' {
		return 0, usererr.Errorf("", "%q has a leading zero", p)
	}
	n, err := strconv.ParseUint(p, 10, 64)
	if err != nil {
		return 0, usererr.Errorf("", "%q is out of range", p)
	}
	return n, nil
}

// checkIdentifiers checks dot-separated identifiers of [0-9A-Za-z-]; numeric
// pre-release identifiers may not have leading zeros.
func checkIdentifiers(s string, prerelease bool) error {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return usererr.Errorf("", "empty identifier")
		}
		numeric := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				numeric = false
			default:
				return usererr.Errorf("", "bad character %q", c)
			}
		}
		if prerelease && numeric && len(id) > 1 && id[0] == '0' {
			return usererr.Errorf("", "%q has a leading zero", id)
		}
	}
	return nil
}

// String returns v in its canonical text form.
func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Prerelease != "" {
		s += "-" + v.Prerelease
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// MarshalText returns v's text form, so JSON shows "1.2.3+4".
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses a version with ParseVersion.
func (v *Version) UnmarshalText(b []byte) error {
	p, err := ParseVersion(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Compare returns -1, 0 or +1 as a has lower, equal or higher precedence than
// b under Semantic Versioning 2.0.0: numbers compare numerically, a
// pre-release sorts before its release, and build metadata is ignored, so
// "1.2.3+4" and "1.2.3+5" compare equal.
func Compare(a, b Version) int {
	for _, d := range [3][2]uint64{{a.Major, b.Major}, {a.Minor, b.Minor}, {a.Patch, b.Patch}} {
		switch {
		case d[0] < d[1]:
			return -1
		case d[0] > d[1]:
			return +1
		}
	}
	switch {
	case a.Prerelease == b.Prerelease:
		return 0
	case a.Prerelease == "":
		return +1
	case b.Prerelease == "":
		return -1
	}
	as, bs := strings.Split(a.Prerelease, "."), strings.Split(b.Prerelease, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if c := compareIdentifier(as[i], bs[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(as) < len(bs):
		return -1
	case len(as) > len(bs):
		return +1
	}
	return 0
}

// compareIdentifier orders two pre-release identifiers: numeric ones
// numerically and below alphanumeric ones, which compare in ASCII order.
func compareIdentifier(a, b string) int {
	an, aerr := strconv.ParseUint(a, 10, 64)
	bn, berr := strconv.ParseUint(b, 10, 64)
	aNum, bNum := isDigits(a), isDigits(b)
	switch {
	case aNum && bNum:
		if aerr != nil || berr != nil {
			// Beyond uint64: longer digit strings are larger (no leading zeros).
			if len(a) != len(b) {
				return cmpInt(len(a), len(b))
			}
			return strings.Compare(a, b)
		}
		switch {
		case an < bn:
			return -1
		case an > bn:
			return +1
		}
		return 0
	case aNum:
		return -1
	case bNum:
		return +1
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return +1
	}
	return 0
}
