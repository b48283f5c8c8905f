package mcuimg

import (
	"fmt"
	"strconv"
	"strings"

	"trustforge/internal/usererr"
)

// Version is an image version: major.minor.revision+build.
type Version struct {
	Major    uint8
	Minor    uint8
	Revision uint16
	Build    uint32
}

// ParseVersion parses a version as imgtool's --version takes it:
// "major[.minor[.revision[+build]]]", decimal numbers without leading zeros.
func ParseVersion(s string) (Version, error) {
	var v Version
	rest, build, hasBuild := strings.Cut(s, "+")
	parts := strings.Split(rest, ".")
	if len(parts) > 3 || (hasBuild && len(parts) != 3) {
		return v, usererr.Errorf("", "%w: version %q: want major[.minor[.revision[+build]]]", ErrInvalidOption, s)
	}
	limits := []uint64{0xff, 0xff, 0xffff}
	var nums [4]uint64
	for i, p := range parts {
		n, err := parseDecimal(p, limits[i])
		if err != nil {
			return v, usererr.Errorf("", "%w: version %q: %v", ErrInvalidOption, s, err)
		}
		nums[i] = n
	}
	if hasBuild {
		n, err := parseDecimal(build, 0xffffffff)
		if err != nil {
			return v, usererr.Errorf("", "%w: version %q: build: %v", ErrInvalidOption, s, err)
		}
		nums[3] = n
	}
	return Version{uint8(nums[0]), uint8(nums[1]), uint16(nums[2]), uint32(nums[3])}, nil
}

func parseDecimal(s string, max uint64) (uint64, error) {
	if s == "" {
		return 0, usererr.Errorf("", "empty number")
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, usererr.Errorf("", "%q has a leading zero", s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, usererr.Errorf("", "%q is not a decimal number", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > max {
		return 0, usererr.Errorf("", "%s is larger than %d", s, max)
	}
	return n, nil
}

// String formats v as "major.minor.revision+build", as imgtool prints it.
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d+%d", v.Major, v.Minor, v.Revision, v.Build)
}

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than w,
// comparing major, minor, revision and then build.
func (v Version) Compare(w Version) int {
	a := [4]uint64{uint64(v.Major), uint64(v.Minor), uint64(v.Revision), uint64(v.Build)}
	b := [4]uint64{uint64(w.Major), uint64(w.Minor), uint64(w.Revision), uint64(w.Build)}
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

// AutoSecurityCounter returns the security counter imgtool's `-s auto`
// derives from a version: major<<24 | minor<<16 | revision.
func AutoSecurityCounter(v Version) uint32 {
	return uint32(v.Major)<<24 | uint32(v.Minor)<<16 | uint32(v.Revision)
}

func (v Version) marshal(b []byte) {
	b[0] = v.Major
	b[1] = v.Minor
	le.PutUint16(b[2:], v.Revision)
	le.PutUint32(b[4:], v.Build)
}

func unmarshalVersion(b []byte) Version {
	return Version{Major: b[0], Minor: b[1], Revision: le.Uint16(b[2:]), Build: le.Uint32(b[4:])}
}
