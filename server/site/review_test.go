package site

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// startSite serves s on a loopback port until the test ends and returns
// its address.
func startSite(t *testing.T, s *Site) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// readAll is an API that reads the whole body, then answers 200 with its
// length, or 408 when the body stopped arriving.
var readAll = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		r.Body.(interface{ ExtendOnProgress() }).ExtendOnProgress()
	}
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			w.WriteHeader(http.StatusRequestTimeout)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	io.WriteString(w, strings.Repeat("x", int(n%7)))
})

// dialFrom connects to addr from the loopback address from.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Finding 4: a client that announced a body and then trickled it kept its
// connection open indefinitely, and there was no cap on connections.
func TestSlowBodiesAreCutOff(t *testing.T) {
	s := New(Config{API: readAll, Version: "v", BodyTimeout: time.Second, BodyIdle: 3 * time.Second, MaxConnsPerAddr: 8})
	addr := startSite(t, s)

	// An unauthenticated body that trickles in is cut off at BodyTimeout,
	// however steadily it trickles.
	slow := dialFrom(t, "127.0.0.1", addr)
	io.WriteString(slow, "POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if _, err := io.WriteString(slow, " "); err != nil {
					return
				}
			}
		}
	}()
	slow.SetReadDeadline(time.Now().Add(2 * time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatalf("a trickling body: %v (the server never answered)", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("a trickling body: %d, want 408", resp.StatusCode)
	}

	// An authenticated upload that keeps making progress runs past
	// BodyTimeout.
	c := dialFrom(t, "127.0.0.1", addr)
	const size = 16
	io.WriteString(c, "POST /api/releases HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Length: 16\r\n\r\n")
	start := time.Now()
	for range size {
		time.Sleep(200 * time.Millisecond)
		io.WriteString(c, "y")
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	resp, err = http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Errorf("an upload making progress for %v: %d, want 200", time.Since(start).Round(time.Millisecond), resp.StatusCode)
	}
}

func TestConnectionCaps(t *testing.T) {
	s := New(Config{API: readAll, Version: "v", BodyTimeout: time.Hour, MaxConnsPerAddr: 8, MaxConns: 12})
	addr := startSite(t, s)
	// One address holds 8 stalled requests; its 9th connection is closed.
	for range 8 {
		c := dialFrom(t, "127.0.0.2", addr)
		io.WriteString(c, "POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n{")
	}
	for s.conns.Load() == nil || s.conns.Load().open() < 8 {
		time.Sleep(time.Millisecond)
	}
	c := dialFrom(t, "127.0.0.2", addr)
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	if _, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
		t.Error("a 9th connection from one address was served")
	}
	// Everyone else still gets the health check.
	for _, from := range []string{"127.0.0.3", "127.0.0.4"} {
		hc := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}}
		resp, err := hc.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("health check from %s under load: %v", from, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("health check from %s under load: %d", from, resp.StatusCode)
		}
		hc.CloseIdleConnections()
	}
}

// Finding 10: a request with both Content-Length and Transfer-Encoding was
// processed and its connection kept open, so a request smuggled after it
// was answered too.
func TestContentLengthWithTransferEncodingRefused(t *testing.T) {
	s := New(Config{API: readAll, Version: "v"})
	addr := startSite(t, s)
	c := dialFrom(t, "127.0.0.1", addr)
	io.WriteString(c, "POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 400 || !resp.Close {
		t.Errorf("CL and TE together: %d (close %v), want 400 and the connection closed", resp.StatusCode, resp.Close)
	}
	if resp, err := http.ReadResponse(br, nil); err == nil {
		t.Errorf("the request after it was answered: %d", resp.StatusCode)
	}
}
