package site

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies trusted to report a request's client
// address and scheme. Requests arriving from anywhere else keep their
// connection's address, whatever Forwarded or X-Forwarded-For headers they
// carry.
type Proxies []netip.Prefix

// ParseProxies reads CIDR prefixes ("10.0.0.0/8") or single addresses.
func ParseProxies(list []string) (Proxies, error) {
	var out Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("site: trusted proxy %q is not an address or CIDR prefix", s)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("site: trusted proxy %q is not an address or CIDR prefix", s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Trusted reports whether a is one of the proxies.
func (ps Proxies) Trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is the address of the connection a request came on.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// Client returns the address of the client behind r and whether it spoke
// HTTPS. Only a request whose connection comes from a trusted proxy may
// say otherwise than its connection: then the Forwarded header (RFC 7239)
// or, without one, X-Forwarded-For and X-Forwarded-Proto name the client,
// read from the right, skipping proxies that are themselves trusted. An
// element that does not parse stops the walk at the last trusted hop.
func (ps Proxies) Client(r *http.Request) (addr netip.Addr, https bool) {
	peer, ok := peerAddr(r)
	https = r.TLS != nil
	if !ok || !ps.Trusted(peer) {
		return peer, https
	}
	var hops []string
	var proto string
	if fw := r.Header.Values("Forwarded"); len(fw) > 0 {
		for _, el := range ParseForwarded(strings.Join(fw, ",")) {
			hops = append(hops, el.For)
			if el.Proto != "" {
				proto = el.Proto
			}
		}
	} else {
		for _, h := range r.Header.Values("X-Forwarded-For") {
			for _, f := range strings.Split(h, ",") {
				hops = append(hops, strings.TrimSpace(f))
			}
		}
		if p := r.Header.Values("X-Forwarded-Proto"); len(p) > 0 {
			parts := strings.Split(p[len(p)-1], ",")
			proto = strings.TrimSpace(parts[len(parts)-1])
		}
	}
	if proto != "" {
		https = strings.EqualFold(proto, "https")
	}
	addr = peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseNode(hops[i])
		if !ok {
			break
		}
		addr = a
		if !ps.Trusted(a) {
			break
		}
	}
	return addr, https
}

// parseNode reads a client address as Forwarded's for= or X-Forwarded-For
// give it: "192.0.2.1", "192.0.2.1:80", "[2001:db8::1]", "[2001:db8::1]:80"
// or a bare IPv6 address.
func parseNode(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// ForwardedElement is one element of a Forwarded header: what one proxy
// recorded about the request it received.
type ForwardedElement struct {
	For, Proto, Host, By string
}

// ParseForwarded reads a Forwarded header's value (RFC 7239 section 4):
// comma-separated elements of semicolon-separated name=value pairs, each
// value a token or a quoted string. Unknown parameters are ignored; an
// element that does not parse is returned empty, so a walk over the
// elements stops there.
func ParseForwarded(v string) []ForwardedElement {
	var out []ForwardedElement
	for len(v) > 0 {
		var el ForwardedElement
		var ok bool
		el, v, ok = parseElement(v)
		if !ok {
			el = ForwardedElement{}
			// Skip to the next element.
			if i := strings.IndexByte(v, ','); i >= 0 {
				v = v[i+1:]
			} else {
				v = ""
			}
		}
		out = append(out, el)
		if len(out) > 64 {
			break
		}
	}
	return out
}

// parseElement reads one element from v, returning the rest after its
// comma.
func parseElement(v string) (ForwardedElement, string, bool) {
	var el ForwardedElement
	for {
		v = strings.TrimLeft(v, " \t")
		i := 0
		for i < len(v) && isTokenChar(v[i]) {
			i++
		}
		if i == 0 || i >= len(v) || v[i] != '=' {
			return el, v, false
		}
		name := strings.ToLower(v[:i])
		v = v[i+1:]
		var val string
		if strings.HasPrefix(v, `"`) {
			var b strings.Builder
			j := 1
			for ; j < len(v) && v[j] != '"'; j++ {
				if v[j] == '\\' && j+1 < len(v) {
					j++
				}
				b.WriteByte(v[j])
			}
			if j >= len(v) {
				return el, v, false
			}
			val, v = b.String(), v[j+1:]
		} else {
			j := 0
			for j < len(v) && isTokenChar(v[j]) {
				j++
			}
			if j == 0 {
				return el, v, false
			}
			val, v = v[:j], v[j:]
		}
		switch name {
		case "for":
			el.For = val
		case "proto":
			el.Proto = val
		case "host":
			el.Host = val
		case "by":
			el.By = val
		}
		v = strings.TrimLeft(v, " \t")
		switch {
		case v == "":
			return el, "", true
		case v[0] == ';':
			v = v[1:]
		case v[0] == ',':
			return el, v[1:], true
		default:
			return el, v, false
		}
	}
}

// isTokenChar reports whether c may appear in an HTTP token (RFC 9110).
func isTokenChar(c byte) bool {
	if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// withClient returns r with RemoteAddr set to the client's address as the
// proxies report it.
func (ps Proxies) withClient(r *http.Request) (*http.Request, bool) {
	addr, https := ps.Client(r)
	if len(ps) == 0 || !addr.IsValid() {
		return r, https
	}
	if peer, _ := peerAddr(r); peer == addr {
		return r, https
	}
	r2 := r.WithContext(r.Context())
	r2.RemoteAddr = net.JoinHostPort(addr.String(), "0")
	return r2, https
}
