package apiwire

import (
	"net/url"
	"strconv"
)

// DeviceFilter selects devices in a [ListDevices] request; zero fields
// match everything.
type DeviceFilter struct {
	Product, Query string
	Revoked        bool
	Limit          int
}

// Encode returns f as the request's query string (without the "?").
func (f DeviceFilter) Encode() string {
	q := url.Values{}
	if f.Product != "" {
		q.Set("product", f.Product)
	}
	if f.Query != "" {
		q.Set("q", f.Query)
	}
	if f.Revoked {
		q.Set("revoked", "true")
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q.Encode()
}
