package bundle

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// completeManifest returns a manifest as Seal and Create complete it.
func completeManifest(t *testing.T) *Manifest {
	t.Helper()
	m := testManifest()
	m.Format = ManifestFormat
	m.Created = fixedNow()
	m.Image = ImageInfo{SHA256: Digest{1, 2, 3}, Size: 66198}
	m.Payload = PayloadInfo{SHA256: Digest{4, 5, 6}, Size: 66500}
	m.Recipients = []string{"age189rxzmrt4tgjfzwmcxcwz0s5fhku7v5axucdmg2hffzfz6zrfgusupzujc"}
	return &m
}

func TestManifestRoundTrip(t *testing.T) {
	t.Parallel()
	m := completeManifest(t)
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeManifest(b)
	if err != nil {
		t.Fatalf("decodeManifest: %v", err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("decodeManifest = %+v\nwant %+v", got, m)
	}
}

func TestManifestJSON(t *testing.T) {
	t.Parallel()
	m := completeManifest(t)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"version":"1.2.3+4"`, `"created":"2026-03-01T12:00:00Z"`, `"security_counter":3`,
		`"sha256":"0102030000000000000000000000000000000000000000000000000000000000"`,
		`"hardware":["thermo-x2-rev-b","nrf52840dk/nrf52840"]`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back Manifest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, m) {
		t.Fatalf("JSON round trip = %+v\nwant %+v", back, m)
	}
}

func TestManifestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(m *Manifest)
		want   error
	}{
		{"format 2", func(m *Manifest) { m.Format = 2 }, ErrUnsupported},
		{"no product", func(m *Manifest) { m.Product = "" }, ErrMalformed},
		{"product with a space", func(m *Manifest) { m.Product = "thermo x2" }, ErrMalformed},
		{"product starting with a dot", func(m *Manifest) { m.Product = ".x" }, ErrMalformed},
		{"product too long", func(m *Manifest) { m.Product = strings.Repeat("a", MaxNameLen+1) }, ErrMalformed},
		{"channel with a slash", func(m *Manifest) { m.Channel = "beta/2" }, ErrMalformed},
		{"component 256", func(m *Manifest) { m.Component = 256 }, ErrMalformed},
		{"negative component", func(m *Manifest) { m.Component = -1 }, ErrMalformed},
		{"bad pre-release", func(m *Manifest) { m.Version.Prerelease = "a..b" }, ErrMalformed},
		{"no creation time", func(m *Manifest) { m.Created = m.Created.AddDate(-100, 0, 0) }, ErrMalformed},
		{"creation time with nanoseconds", func(m *Manifest) { m.Created = m.Created.Add(1) }, ErrMalformed},
		{"empty image", func(m *Manifest) { m.Image.Size = 0 }, ErrMalformed},
		{"payload far larger than the image", func(m *Manifest) { m.Payload.Size = 3*m.Image.Size + 1<<20 }, ErrMalformed},
		{"hardware entry with a space", func(m *Manifest) { m.Hardware = []string{"rev b"} }, ErrMalformed},
		{"too much hardware", func(m *Manifest) { m.Hardware = make([]string, MaxHardware+1) }, ErrMalformed},
		{"nobody can open it", func(m *Manifest) { m.Recipients = nil }, ErrMalformed},
		{"recipients and passphrase", func(m *Manifest) { m.Passphrase = true }, ErrMalformed},
		{"secret key as a recipient", func(m *Manifest) {
			m.Recipients = []string{"AGE-SECRET-KEY-1AMS9A4R6XVDUZ967M0H70C26ZZ433G26RU6KF5H2VFKTK6L2N3YSEXMEMN"}
		}, ErrMalformed},
		{"recipient with a bad checksum", func(m *Manifest) {
			m.Recipients = []string{"age189rxzmrt4tgjfzwmcxcwz0s5fhku7v5axucdmg2hffzfz6zrfgusupzujd"}
		}, ErrMalformed},
		{"notes too long", func(m *Manifest) { m.Notes = strings.Repeat("x", MaxNotesLen+1) }, ErrMalformed},
		{"notes not UTF-8", func(m *Manifest) { m.Notes = "\xff" }, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := completeManifest(t)
			tt.change(m)
			if err := m.Validate(); !errors.Is(err, tt.want) {
				t.Fatalf("Validate: %v, want %v", err, tt.want)
			}
			if _, err := m.encode(); !errors.Is(err, tt.want) {
				t.Fatalf("encode: %v, want %v", err, tt.want)
			}
		})
	}
	if err := completeManifest(t).Validate(); err != nil {
		t.Fatalf("Validate of a good manifest: %v", err)
	}
}

// TestDecodeManifestStrict feeds encodings of a valid manifest that are not
// its canonical one, or that add to it.
func TestDecodeManifestStrict(t *testing.T) {
	t.Parallel()
	good, err := completeManifest(t).encode()
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := cbor.Unmarshal(good, &generic); err != nil {
		t.Fatal(err)
	}
	encode := func(opts cbor.EncOptions, v any) []byte {
		em, err := opts.EncMode()
		if err != nil {
			t.Fatal(err)
		}
		b, err := em.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	with := func(key string, val any) map[string]any {
		m := map[string]any{}
		for k, v := range generic {
			m[k] = v
		}
		if val == nil {
			delete(m, key)
		} else {
			m[key] = val
		}
		return m
	}
	canonical := cbor.EncOptions{Sort: cbor.SortCoreDeterministic}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"re-encoded canonically", encode(canonical, generic), nil},
		{"keys in reverse order", reverseOrder(t, good), ErrMalformed},
		{"a length in a longer form", longLength(t, good), ErrMalformed},
		{"unknown field", encode(canonical, with("signer", "me")), ErrMalformed},
		{"missing passphrase field", encode(canonical, with("passphrase", nil)), ErrMalformed},
		{"format 2", encode(canonical, with("format", 2)), ErrUnsupported},
		{"trailing byte", append(good[:len(good):len(good)], 0), ErrMalformed},
		{"short digest", encode(canonical, with("image", map[string]any{"sha256": []byte{1}, "size": 5})), ErrMalformed},
		{"tagged creation time", encode(canonical, with("created", cbor.Tag{Number: 1, Content: 1772366400})), ErrMalformed},
		{"an array", encode(canonical, []any{1, 2}), ErrMalformed},
		{"empty", nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeManifest(tt.b)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("decodeManifest: %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("decodeManifest: %v, want %v", err, tt.want)
			}
		})
	}
}

// reverseOrder re-encodes a CBOR map with its keys in reverse order.
func reverseOrder(t *testing.T, b []byte) []byte {
	t.Helper()
	var m map[string]cbor.RawMessage
	if err := cbor.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Canonical order is length first, then bytewise; reverse it.
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] > keys[j]
	})
	out := []byte{0xa0 | byte(len(m))}
	for _, k := range keys {
		kb, _ := cbor.Marshal(k)
		out = append(append(out, kb...), m[k]...)
	}
	return out
}

// longLength re-encodes the map header with a one-byte length argument
// (0xb8 n) instead of the shortest form.
func longLength(t *testing.T, b []byte) []byte {
	t.Helper()
	if b[0]&0xe0 != 0xa0 || b[0]&0x1f >= 24 {
		t.Fatalf("unexpected map header %#x", b[0])
	}
	return append([]byte{0xb8, b[0] & 0x1f}, b[1:]...)
}
