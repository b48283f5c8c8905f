package sim

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"trustforge/devices/serial"
	"trustforge/devices/smp"
)

func TestWebSocket(t *testing.T) {
	b, _ := provisioned(t, Config{Baud: 1000000})
	srv := httptest.NewServer(NewHandler(b))
	defer srv.Close()
	ctx := context.Background()
	dial := func() *smp.Client {
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			t.Fatal(err)
		}
		c := smp.NewClient(smp.FromStream(websocket.NetConn(ctx, ws, websocket.MessageBinary)), &smp.Options{Timeout: 10 * time.Second})
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := dial()
	if s, err := c.Echo(ctx, "over websocket"); err != nil || s != "over websocket" {
		t.Fatalf("echo = %q, %v", s, err)
	}
	img := makeImage(t, imageSpec{version: "1.1.0", key: "ed25519.pem", counter: ctr(2)})
	if _, err := c.Upload(ctx, img, nil); err != nil {
		t.Fatal(err)
	}
	// A second connection takes the board over; the first is closed.
	c2 := dial()
	if _, err := c2.ImageState(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Echo(ctx, "x"); err == nil {
		t.Error("the replaced connection still works")
	}
}

func TestPTY(t *testing.T) {
	p, err := OpenPTY()
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	b, _ := provisioned(t, Config{Baud: 115200})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, p) }()
	defer func() {
		cancel()
		p.Close()
		<-done
	}()
	for range 2 { // the port opens again after a client closed it
		port, err := serial.OpenPort(p.Path(), 115200)
		if err != nil {
			t.Fatal(err)
		}
		c := smp.NewClient(smp.FromStream(port), &smp.Options{Timeout: 10 * time.Second})
		if s, err := c.Echo(ctx, "over a pty"); err != nil || s != "over a pty" {
			t.Errorf("echo = %q, %v", s, err)
		}
		c.Close()
	}
}

func TestServeReplacedAndClosed(t *testing.T) {
	b := newBoard(t, Config{})
	serve := func() chan error {
		host, dev := net.Pipe()
		t.Cleanup(func() { host.Close(); dev.Close() })
		errc := make(chan error, 1)
		go func() { errc <- b.Serve(context.Background(), dev) }()
		return errc
	}
	first := serve()
	time.Sleep(10 * time.Millisecond)
	second := serve()
	if err := <-first; !errors.Is(err, ErrReplaced) {
		t.Errorf("Serve taken over = %v, want ErrReplaced", err)
	}
	b.Close()
	if err := <-second; !errors.Is(err, ErrClosed) {
		t.Errorf("Serve on a board being closed = %v, want ErrClosed", err)
	}
	if err := b.Serve(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve on a closed board = %v, want ErrClosed", err)
	}
}
