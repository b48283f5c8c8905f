package site

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestParseForwarded(t *testing.T) {
	tests := []struct {
		in   string
		want []ForwardedElement
	}{
		{`for=192.0.2.60;proto=http;by=203.0.113.43`, []ForwardedElement{{For: "192.0.2.60", Proto: "http", By: "203.0.113.43"}}},
		{`for="_gazonk"`, []ForwardedElement{{For: "_gazonk"}}},
		{`For="[2001:db8:cafe::17]:4711"`, []ForwardedElement{{For: "[2001:db8:cafe::17]:4711"}}},
		{`for=192.0.2.43, for=198.51.100.17`, []ForwardedElement{{For: "192.0.2.43"}, {For: "198.51.100.17"}}},
		{`for=192.0.2.43;proto=https, for="\"q\""`, []ForwardedElement{{For: "192.0.2.43", Proto: "https"}, {For: `"q"`}}},
		{`for=, for=198.51.100.17`, []ForwardedElement{{}, {For: "198.51.100.17"}}},
		{`for="unterminated`, []ForwardedElement{{}}},
		{`garbage;;;, for=10.0.0.1`, []ForwardedElement{{}, {For: "10.0.0.1"}}},
	}
	for _, tt := range tests {
		got := ParseForwarded(tt.in)
		if len(got) != len(tt.want) {
			t.Errorf("ParseForwarded(%q) = %+v, want %+v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParseForwarded(%q)[%d] = %+v, want %+v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func FuzzParseForwarded(f *testing.F) {
	for _, s := range []string{`for=192.0.2.60;proto=http;by=203.0.113.43`, `for="[2001:db8::1]:80", for=unknown`, `for="\"`, `,,;=`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		els := ParseForwarded(s)
		if len(els) > 65 {
			t.Fatalf("%d elements", len(els))
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.1:1"
		r.Header.Set("Forwarded", s)
		r.Header.Set("X-Forwarded-For", s)
		ps, _ := ParseProxies([]string{"10.0.0.0/8"})
		if a, _ := ps.Client(r); !a.IsValid() {
			t.Fatalf("no client address for %q", s)
		}
	})
}

func TestClientAddress(t *testing.T) {
	ps, err := ParseProxies([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Error("a bad prefix parsed")
	}
	tests := []struct {
		name, peer string
		hdr        map[string]string
		tls        bool
		want       string
		https      bool
	}{
		{"no proxy headers", "198.51.100.1:5", nil, false, "198.51.100.1", false},
		{"spoofed XFF from an untrusted address", "198.51.100.1:5", map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}, false, "198.51.100.1", false},
		{"XFF from a trusted proxy", "10.1.2.3:5", map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}, false, "203.0.113.9", true},
		{"the client's own XFF is ignored", "10.1.2.3:5", map[string]string{"X-Forwarded-For": "1.1.1.1, 203.0.113.9"}, false, "203.0.113.9", false},
		{"two trusted proxies", "10.1.2.3:5", map[string]string{"X-Forwarded-For": "1.1.1.1, 203.0.113.9, 192.0.2.7"}, false, "203.0.113.9", false},
		{"Forwarded wins over XFF", "192.0.2.7:5", map[string]string{"Forwarded": `for="[2001:db8::5]:80";proto=https`, "X-Forwarded-For": "1.1.1.1"}, false, "2001:db8::5", true},
		{"an unparsable hop stops at the proxy", "10.1.2.3:5", map[string]string{"X-Forwarded-For": "203.0.113.9, junk"}, false, "10.1.2.3", false},
		{"TLS without a proxy", "198.51.100.1:5", nil, true, "198.51.100.1", true},
		{"a proxy saying http over TLS", "10.1.2.3:5", map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"}, true, "203.0.113.9", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.peer
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		for k, v := range tt.hdr {
			r.Header.Set(k, v)
		}
		a, https := ps.Client(r)
		if a != netip.MustParseAddr(tt.want) || https != tt.https {
			t.Errorf("%s: %v https=%v, want %s https=%v", tt.name, a, https, tt.want, tt.https)
		}
	}
}

func TestHSTSOnlyOverHTTPS(t *testing.T) {
	ps, _ := ParseProxies([]string{"10.0.0.0/8"})
	s := New(Config{Console: http.NotFoundHandler(), TrustedProxies: ps})
	for _, tt := range []struct {
		peer, proto string
		tls, want   bool
	}{{"198.51.100.1:1", "", false, false}, {"198.51.100.1:1", "", true, true}, {"10.0.0.1:1", "https", false, true}, {"198.51.100.1:1", "https", false, false}} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.peer
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tt.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tt.proto)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		if got := rec.Header().Get("Strict-Transport-Security") != ""; got != tt.want {
			t.Errorf("%+v: HSTS %v, want %v", tt, got, tt.want)
		}
	}
}
