package fwupdate

import (
	"strconv"
	"strings"

	"trustforge/crypto/bundle"
	"trustforge/internal/usererr"
)

// ParseBoardVersion reads an image version as SMP's image list reports it,
// "major.minor.revision" or "major.minor.revision.build", into the release
// manifest's form (the build number becomes build metadata, "1.2.3+4").
func ParseBoardVersion(s string) (bundle.Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 && len(parts) != 4 {
		return bundle.Version{}, usererr.Errorf("fwupdate", "board version %q: want major.minor.revision[.build]", s)
	}
	var n [4]uint64
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return bundle.Version{}, usererr.Errorf("fwupdate", "board version %q: %q is not a number", s, p)
		}
		n[i] = v
	}
	v := bundle.Version{Major: n[0], Minor: n[1], Patch: n[2]}
	if len(parts) == 4 && n[3] != 0 {
		v.Build = strconv.FormatUint(n[3], 10)
	}
	return v, nil
}

// CompareVersions orders versions as MCUboot does: by semantic version,
// and then, for equal ones, by a numeric build number (MCUboot's fourth
// version field). It returns -1, 0 or +1.
func CompareVersions(a, b bundle.Version) int {
	if c := bundle.Compare(a, b); c != 0 {
		return c
	}
	ab, aerr := buildNumber(a.Build)
	bb, berr := buildNumber(b.Build)
	if aerr != nil || berr != nil {
		return 0
	}
	switch {
	case ab < bb:
		return -1
	case ab > bb:
		return 1
	}
	return 0
}

// buildNumber reads build metadata that is a plain number; empty is 0.
func buildNumber(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 32)
}
