package site

import (
	"net"
	"net/netip"
	"sync"
)

// connLimit is a listener that caps the connections it holds open: in
// all, and from one client address (trusted proxies, which carry many
// clients, count only against the total). A connection over either cap is
// closed as soon as it is accepted, so one client cannot take the server's
// connections, and the health check and everyone else still get in.
type connLimit struct {
	net.Listener
	max, perAddr int
	proxies      Proxies

	mu    sync.Mutex
	total int
	by    map[netip.Addr]int
}

func newConnLimit(ln net.Listener, max, perAddr int, proxies Proxies) *connLimit {
	return &connLimit{Listener: ln, max: max, perAddr: perAddr, proxies: proxies, by: make(map[netip.Addr]int)}
}

func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var addr netip.Addr
		if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
			addr = ap.Addr().Unmap()
		}
		if l.admit(addr) {
			return &limitedConn{Conn: c, l: l, addr: addr}, nil
		}
		c.Close()
	}
}

func (l *connLimit) admit(a netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.max {
		return false
	}
	if !l.proxies.Trusted(a) && l.by[a] >= l.perAddr {
		return false
	}
	l.total++
	l.by[a]++
	return true
}

func (l *connLimit) release(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.by[a]--; l.by[a] <= 0 {
		delete(l.by, a)
	}
}

// open returns how many connections are held, for tests.
func (l *connLimit) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

type limitedConn struct {
	net.Conn
	l    *connLimit
	addr netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.addr) })
	return err
}
