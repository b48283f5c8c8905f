package mcuimg

import (
	"fmt"
	"strconv"
	"strings"

	"trustforge/internal/usererr"
)

// Dependency says an image needs another image (by index) at a minimum version.
type Dependency struct {
	ImageID uint8
	Version Version
}

const dependencySize = 12

func (d Dependency) marshal() []byte {
	b := make([]byte, dependencySize)
	b[0] = d.ImageID
	d.Version.marshal(b[4:])
	return b
}

func unmarshalDependency(b []byte) (Dependency, error) {
	if len(b) != dependencySize {
		return Dependency{}, usererr.Errorf("", "%d bytes (want %d)", len(b), dependencySize)
	}
	return Dependency{ImageID: b[0], Version: unmarshalVersion(b[4:])}, nil
}

// String formats the dependency as imgtool's --dependencies takes it: "(1,0.5.0+0)".
func (d Dependency) String() string { return fmt.Sprintf("(%d,%s)", d.ImageID, d.Version) }

// ParseDependencies parses imgtool's --dependencies argument: one or more
// "(image_id,version)" groups, separated by optional commas and spaces,
// such as "(1,0.5.0+0)" or "(0, 1.2.3), (1, 2.0.0+7)".
func ParseDependencies(s string) ([]Dependency, error) {
	var deps []Dependency
	rest := strings.TrimSpace(s)
	if rest == "" {
		return nil, usererr.Errorf("", "%w: dependencies: empty", ErrInvalidOption)
	}
	for rest != "" {
		if rest[0] != '(' {
			return nil, usererr.Errorf("", "%w: dependencies %q: want \"(image_id,version)\" at %q", ErrInvalidOption, s, rest)
		}
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return nil, usererr.Errorf("", "%w: dependencies %q: missing ')'", ErrInvalidOption, s)
		}
		id, ver, ok := strings.Cut(rest[1:end], ",")
		if !ok {
			return nil, usererr.Errorf("", "%w: dependencies %q: want \"(image_id,version)\", got %q", ErrInvalidOption, s, rest[:end+1])
		}
		n, err := strconv.ParseUint(strings.TrimSpace(id), 10, 8)
		if err != nil {
			return nil, usererr.Errorf("", "%w: dependencies %q: image id %q is not a number from 0 to 255", ErrInvalidOption, s, strings.TrimSpace(id))
		}
		v, err := ParseVersion(strings.TrimSpace(ver))
		if err != nil {
			return nil, usererr.Errorf("", "dependencies %q: %w", s, err)
		}
		deps = append(deps, Dependency{ImageID: uint8(n), Version: v})
		rest = strings.TrimLeft(rest[end+1:], ", \t")
	}
	return deps, nil
}
