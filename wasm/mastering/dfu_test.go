package mastering

import (
	"strings"
	"testing"

	"trustforge/internal/usererr"
)

func TestParseDFUAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want uint32
		err  string // a part of the error's text for people; "" for none
	}{
		{in: "", want: 0},
		{in: "   ", want: 0},
		{in: "0x08000000", want: 0x08000000},
		{in: "0X08004000", want: 0x08004000},
		{in: " 08020000 ", want: 0x08020000},
		{in: "0x0800_8000", want: 0x08008000},
		{in: "0xffffFFFC", want: 0xfffffffc},
		{in: "0x0000000008000000", want: 0x08000000},
		{in: "0x", err: "not a hexadecimal address"},
		{in: "0x0800g000", err: "not a hexadecimal address"},
		{in: "134217728 dec", err: "not a hexadecimal address"},
		{in: "-0x08000000", err: "not a hexadecimal address"},
		{in: "0x+8000000", err: "not a hexadecimal address"},
		{in: "0x108000000", err: "over 32 bits"},
		{in: "0x0", err: "leave it empty"},
		{in: "0x08000002", err: "not word aligned"},
		{in: "0x08000001", err: "not word aligned"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDFUAddress(tc.in)
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Fatalf("ParseDFUAddress(%q) = %#x, %v; want %#x", tc.in, got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseDFUAddress(%q) = %#x, want an error containing %q", tc.in, got, tc.err)
			}
			if msg := usererr.Message(err); !strings.Contains(msg, tc.err) || strings.HasPrefix(msg, "mastering:") {
				t.Errorf("ParseDFUAddress(%q): %q, want a text for people containing %q", tc.in, msg, tc.err)
			}
			if !strings.HasPrefix(err.Error(), "mastering: ") {
				t.Errorf("ParseDFUAddress(%q): %q, want the package prefix for logs", tc.in, err)
			}
		})
	}
}

func FuzzParseDFUAddress(f *testing.F) {
	for _, s := range []string{"", "0x08000000", "08020000", "0x0800_8000", "0x1_0000_0000", "0x0", "zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseDFUAddress(s)
		if err != nil {
			if v != 0 {
				t.Fatalf("ParseDFUAddress(%q) = %#x with error %v", s, v, err)
			}
			return
		}
		if v%dfuAlign != 0 {
			t.Fatalf("ParseDFUAddress(%q) = %#x, not aligned", s, v)
		}
		if v == 0 && strings.TrimSpace(s) != "" {
			t.Fatalf("ParseDFUAddress(%q) = 0 for a non-empty address", s)
		}
	})
}
