package api

import (
	"errors"
	"strconv"
	"strings"
)

// errUnsatisfiable reports a Range that selects no byte of the resource.
var errUnsatisfiable = errors.New("api: range not satisfiable")

// parseRange interprets a Range header (RFC 9110, section 14.2) for a
// resource of size bytes. It returns the one byte range to send, with
// partial true; partial false means send the whole resource, which is the
// answer to an absent, malformed or multi-range header (a resuming download
// asks for one range, and multipart responses only cost the server).
// errUnsatisfiable means answer 416.
func parseRange(h string, size int64) (start, length int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	spec = strings.TrimSpace(spec)
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, size, false, nil
	}
	if first == "" {
		// Suffix range: the last n bytes.
		n, ok := parseDigits(last)
		if !ok {
			return 0, size, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, errUnsatisfiable
		}
		if n > size {
			n = size
		}
		return size - n, n, true, nil
	}
	a, ok := parseDigits(first)
	if !ok {
		return 0, size, false, nil
	}
	b := int64(-1)
	if last != "" {
		if b, ok = parseDigits(last); !ok || b < a {
			return 0, size, false, nil
		}
	}
	if a >= size {
		return 0, 0, false, errUnsatisfiable
	}
	if b < 0 || b >= size {
		b = size - 1
	}
	return a, b - a + 1, true, nil
}

// parseDigits parses a non-empty run of ASCII digits that fits an int64.
func parseDigits(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
