// Package pylit parses the few Python literal forms that trustforge's test
// vectors were logged in: bytes (b'\x06\t…'), str, int, None, True, False and
// dicts of them, as Python's repr prints them. It exists for tests that read
// vectors captured with Python tools.
package pylit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrSyntax is returned for text that is not one of the supported literals.
var ErrSyntax = errors.New("pylit: syntax error")

// Bytes parses a Python bytes literal such as b'\x06\tAB==\n'.
func Bytes(s string) ([]byte, error) {
	v, rest, err := parse(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(rest) != "" {
		return nil, fmt.Errorf("%w: trailing %q", ErrSyntax, rest)
	}
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("%w: not a bytes literal: %q", ErrSyntax, s)
	}
	return b, nil
}

// Value parses one literal: []byte for bytes, string, int64, nil for None,
// bool, or map[string]any for a dict with string keys.
func Value(s string) (any, error) {
	v, rest, err := parse(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(rest) != "" {
		return nil, fmt.Errorf("%w: trailing %q", ErrSyntax, rest)
	}
	return v, nil
}

func parse(s string) (any, string, error) {
	s = strings.TrimLeft(s, " ")
	switch {
	case s == "":
		return nil, "", fmt.Errorf("%w: unexpected end", ErrSyntax)
	case strings.HasPrefix(s, "b'"), strings.HasPrefix(s, `b"`):
		b, rest, err := quoted(s[1:])
		return []byte(b), rest, err
	case s[0] == '\'' || s[0] == '"':
		b, rest, err := quoted(s)
		return b, rest, err
	case s[0] == '{':
		return dict(s[1:])
	case strings.HasPrefix(s, "None"):
		return nil, s[4:], nil
	case strings.HasPrefix(s, "True"):
		return true, s[4:], nil
	case strings.HasPrefix(s, "False"):
		return false, s[5:], nil
	}
	end := 0
	for end < len(s) && (s[end] == '-' || '0' <= s[end] && s[end] <= '9') {
		end++
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		return nil, "", fmt.Errorf("%w: at %q", ErrSyntax, s)
	}
	return n, s[end:], nil
}

func dict(s string) (any, string, error) {
	m := map[string]any{}
	for {
		s = strings.TrimLeft(s, " ")
		if strings.HasPrefix(s, "}") {
			return m, s[1:], nil
		}
		k, rest, err := parse(s)
		if err != nil {
			return nil, "", err
		}
		key, ok := k.(string)
		if !ok {
			return nil, "", fmt.Errorf("%w: dict key %v is not a string", ErrSyntax, k)
		}
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, ":") {
			return nil, "", fmt.Errorf("%w: missing ':' at %q", ErrSyntax, rest)
		}
		v, rest, err := parse(rest[1:])
		if err != nil {
			return nil, "", err
		}
		m[key] = v
		rest = strings.TrimLeft(rest, " ")
		if strings.HasPrefix(rest, ",") {
			rest = rest[1:]
		}
		s = rest
	}
}

// quoted reads a quoted Python string starting at s[0] and returns its bytes.
func quoted(s string) (string, string, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), s[i+1:], nil
		case c != '\\':
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			break
		}
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'x':
			if i+2 >= len(s) {
				return "", "", fmt.Errorf("%w: short \\x escape", ErrSyntax)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", "", fmt.Errorf("%w: bad \\x escape %q", ErrSyntax, s[i+1:i+3])
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", "", fmt.Errorf("%w: unknown escape \\%c", ErrSyntax, e)
		}
	}
	return "", "", fmt.Errorf("%w: unterminated string", ErrSyntax)
}
