package api

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParseRange(f *testing.F) {
	for _, h := range []string{"bytes=0-0", "bytes=5-", "bytes=-5", "bytes=0-1,2-3", "bytes=9-2", "bytes= 1-2",
		"bytes=-0", "bytes=99999999999999999999-", "items=0-1", "bytes=", "bytes=-", "bytes=1-2-3"} {
		f.Add(h, int64(100))
		f.Add(h, int64(0))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
			if size < 0 {
				return
			}
		}
		start, length, partial, err := parseRange(h, size)
		switch {
		case errors.Is(err, errUnsatisfiable):
			return
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		case !partial && (start != 0 || length != size):
			t.Fatalf("whole answer %d+%d for size %d", start, length, size)
		case partial && (start < 0 || length < 1 || start+length > size):
			t.Fatalf("range %d+%d outside size %d", start, length, size)
		}
	})
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		h             string
		size          int64
		start, length int64
		partial       bool
		unsat         bool
	}{
		{"bytes=0-9", 100, 0, 10, true, false},
		{"bytes=90-", 100, 90, 10, true, false},
		{"bytes=-10", 100, 90, 10, true, false},
		{"bytes=-1000", 100, 0, 100, true, false},
		{"bytes=50-1000", 100, 50, 50, true, false},
		{"bytes=100-", 100, 0, 0, false, true},
		{"bytes=-0", 100, 0, 0, false, true},
		{"bytes=0-", 0, 0, 0, false, true},
		{"bytes=5-4", 100, 0, 100, false, false},
		{"bytes=0-1,3-4", 100, 0, 100, false, false},
		{"bytes=+1-2", 100, 0, 100, false, false},
		{"Bytes=0-1", 100, 0, 100, false, false},
	}
	for _, tt := range tests {
		start, length, partial, err := parseRange(tt.h, tt.size)
		if (err != nil) != tt.unsat || (err == nil && (start != tt.start || length != tt.length || partial != tt.partial)) {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v, %v; want %d, %d, %v, unsatisfiable=%v",
				tt.h, tt.size, start, length, partial, err, tt.start, tt.length, tt.partial, tt.unsat)
		}
	}
}

// FuzzDecodeJSON feeds every request body type the API parses.
func FuzzDecodeJSON(f *testing.F) {
	seeds := []string{
		`{"token":"tfe_x","name":"root","password":"0123456789"}`,
		`{"name":"sensor","description":"d","channels":["beta","stable"]}`,
		`{"role":"engineer","password":"","disabled":true}`,
		`{"name":"ci","expires":"2030-01-01T00:00:00Z"}`,
		`{"public_key":"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n","comment":"c"}`,
		`{"channel":"stable"}`, `{"reason":"bricks boards"}`, `{"name":"x"}{"name":"y"}`, `[]`, `null`, `{"unknown":1}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	for _, s := range []string{`{"device":"00aa01"}`, `{"count":3,"request":"f00d-1"}`, `{"count":3,"request":"a b"}`, `{"device":"00","request":"x"}`} {
		f.Add(uint8(10), []byte(s))
	}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		var dst validator
		switch kind % 11 {
		case 0:
			dst = new(enrolRequest)
		case 1:
			dst = new(signInRequest)
		case 2:
			dst = new(createUserRequest)
		case 3:
			dst = new(updateUserRequest)
		case 4:
			dst = new(createTokenRequest)
		case 5:
			dst = new(createProductRequest)
		case 6:
			dst = new(addChannelRequest)
		case 7:
			dst = new(addKeyRequest)
		case 8:
			dst = new(promoteRequest)
		case 9:
			dst = new(yankRequest)
		case 10:
			dst = new(ticketRequest)
		}
		err := decodeBody(bytes.NewReader(body), 1<<10, dst)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("error %v is not an *Error", err)
		}
		if e != nil && (e.Status < 400 || e.Status > 499) {
			t.Fatalf("status %d for a bad body", e.Status)
		}
		if k, ok := dst.(*addKeyRequest); ok && err == nil {
			parseSigningKey(k.PublicKey) // must not panic on any accepted text
		}
	})
}
