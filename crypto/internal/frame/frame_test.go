package frame

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

var (
	errNot      = errors.New("not")
	errVersion  = errors.New("version")
	errEmpty    = errors.New("empty")
	errTooLarge = errors.New("too large")
	errShort    = errors.New("short")
)

var test = &Format{Name: "test", Magic: "\x89TST\r\n\x1a\n", Version: 3, MaxManifest: 16,
	ErrNotFormat: errNot, ErrUnsupported: errVersion, ErrEmpty: errEmpty, ErrTooLarge: errTooLarge, ErrTruncated: errShort}

func framed(t *testing.T, manifest, payload string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := test.Write(&b, []byte(manifest)); err != nil {
		t.Fatal(err)
	}
	return append(b.Bytes(), payload...)
}

func TestRoundTripLeavesThePayload(t *testing.T) {
	r := bytes.NewReader(framed(t, "manifest", "payload"))
	m, err := test.Read(r)
	if err != nil || string(m) != "manifest" {
		t.Fatalf("Read = %q, %v", m, err)
	}
	if rest, _ := io.ReadAll(r); string(rest) != "payload" {
		t.Errorf("left %q, want the payload", rest)
	}
}

func TestEveryTruncation(t *testing.T) {
	b := framed(t, "manifest", "")
	for n := range len(b) {
		if _, err := test.Read(bytes.NewReader(b[:n])); !errors.Is(err, errShort) {
			t.Errorf("%d of %d bytes: %v, want the truncation error", n, len(b), err)
		}
	}
}

func TestRefusals(t *testing.T) {
	good := framed(t, "m", "")
	for _, c := range []struct {
		name string
		edit func(b []byte) []byte
		want error
	}{
		{"magic", func(b []byte) []byte { b[1] = 'X'; return b }, errNot},
		{"version", func(b []byte) []byte { b[9] = 4; return b }, errVersion},
		{"empty", func(b []byte) []byte { b[13] = 0; return b }, errEmpty},
		{"too large", func(b []byte) []byte { b[13] = 17; return append(b, make([]byte, 17)...) }, errTooLarge},
	} {
		b := c.edit(bytes.Clone(good))
		if _, err := test.Read(bytes.NewReader(b)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
