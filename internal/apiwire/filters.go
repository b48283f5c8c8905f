package apiwire

import (
	"net/url"
	"strconv"
)

// DeviceFilter selects devices in a [ListDevices] request; zero fields
// match everything.
type DeviceFilter struct {
	Product, Query string
	Revoked        bool // include revoked boards
	Limit          int  // zero: the server's default
}

// Encode returns f as the request's query string (without the "?").
func (f DeviceFilter) Encode() string {
	return query("product", f.Product, "q", f.Query, "revoked", flag(f.Revoked), "limit", count(f.Limit))
}

// ReleaseFilter selects releases in a [ListReleases] request; zero fields
// match everything.
type ReleaseFilter struct {
	Product, Channel, Version string
	// Component selects the releases of one image of a multi-image
	// product; nil: every image.
	Component *int
	Yanked    bool // include yanked releases
	Limit     int  // zero: the server's default
}

// Encode returns f as the request's query string (without the "?").
func (f ReleaseFilter) Encode() string {
	component := ""
	if f.Component != nil {
		component = strconv.Itoa(*f.Component)
	}
	return query("product", f.Product, "channel", f.Channel, "version", f.Version,
		"component", component, "yanked", flag(f.Yanked), "limit", count(f.Limit))
}

// query encodes name, value pairs, leaving out empty values.
func query(pairs ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	return q.Encode()
}

func flag(b bool) string {
	if b {
		return "true"
	}
	return ""
}

func count(n int) string {
	if n > 0 {
		return strconv.Itoa(n)
	}
	return ""
}
