package bundle

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Version
	}{
		{"1.2.3", Version{Major: 1, Minor: 2, Patch: 3}},
		{"1.2.3+4", Version{Major: 1, Minor: 2, Patch: 3, Build: "4"}},
		{"0.0.0", Version{}},
		{"1.3.0-rc.1", Version{Major: 1, Minor: 3, Prerelease: "rc.1"}},
		{"1.0.0-alpha-1.x+build.7-a", Version{Major: 1, Prerelease: "alpha-1.x", Build: "build.7-a"}},
		{"18446744073709551615.0.0", Version{Major: 1<<64 - 1}},
		{"1.0.0+007", Version{Major: 1, Build: "007"}}, // build identifiers may have leading zeros
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if err != nil {
			t.Errorf("ParseVersion(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseVersion(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("ParseVersion(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestParseVersionRefuses(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "1", "1.2", "1.2.3.4", "v1.2.3", "01.2.3", "1.02.3", "1.2.03", "1.2.3-", "1.2.3+",
		"1.2.3-01", "1.2.3-a..b", "1.2.3-a_b", "1.2.3+a+b", " 1.2.3", "1.2.3 ", "-1.2.3",
		"18446744073709551616.0.0", "1.2.x",
	} {
		if v, err := ParseVersion(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseVersion(%q) = %v, %v; want ErrMalformed", in, v, err)
		}
	}
}

// TestCompare checks the precedence example of Semantic Versioning 2.0.0
// section 11, plus numeric ordering and ignored build metadata.
func TestCompare(t *testing.T) {
	t.Parallel()
	ordered := []string{
		"0.9.99", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0",
		"2.0.1-99999999999999999999", "2.0.1-100000000000000000000", "2.0.1-a",
	}
	for i, a := range ordered {
		for j, b := range ordered {
			va, vb := mustVersion(t, a), mustVersion(t, b)
			want := cmpInt(i, j)
			if got := Compare(va, vb); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	if got := Compare(mustVersion(t, "1.2.3+4"), mustVersion(t, "1.2.3+5")); got != 0 {
		t.Errorf("Compare(1.2.3+4, 1.2.3+5) = %d, want 0 (build metadata does not order)", got)
	}
}

func TestVersionJSON(t *testing.T) {
	t.Parallel()
	v := mustVersion(t, "1.3.0-rc.1+77")
	b, err := json.Marshal(v)
	if err != nil || string(b) != `"1.3.0-rc.1+77"` {
		t.Fatalf("json.Marshal = %s, %v", b, err)
	}
	var back Version
	if err := json.Unmarshal(b, &back); err != nil || back != v {
		t.Fatalf("json.Unmarshal = %+v, %v; want %+v", back, err, v)
	}
	if err := json.Unmarshal([]byte(`"1.2"`), &back); !errors.Is(err, ErrMalformed) {
		t.Fatalf("json.Unmarshal(1.2) = %v, want ErrMalformed", err)
	}
}

func mustVersion(t *testing.T, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
