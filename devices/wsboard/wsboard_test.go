package wsboard

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"trustforge/devices/sim"
	"trustforge/devices/smp"
)

var _ smp.Transport = (*Conn)(nil)

func TestURL(t *testing.T) {
	tests := []struct {
		origin, want string
		ok           bool
	}{
		{"http://127.0.0.1:8080", "ws://127.0.0.1:8080/demo-board/", true},
		{"https://console.example/devices?x=1#y", "wss://console.example/demo-board/", true},
		{"ws://h:1", "ws://h:1/demo-board/", true},
		{"ftp://h", "", false},
		{"http://", "", false},
		{"::", "", false},
	}
	for _, tt := range tests {
		got, err := URL(tt.origin)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("URL(%q) = %q, %v; want %q, ok=%v", tt.origin, got, err, tt.want, tt.ok)
		}
	}
}

func startBoard(t *testing.T) (*sim.Board, string) {
	t.Helper()
	b, err := sim.New(sim.Config{SlotSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.NewHandler(b))
	t.Cleanup(func() {
		srv.Close()
		b.Close()
	})
	u, err := URL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return b, u
}

func TestSMPOverWebSocket(t *testing.T) {
	_, u := startBoard(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := Dial(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	c := smp.NewClient(conn, nil)
	defer c.Close()
	got, err := c.Echo(ctx, "over the wire")
	if err != nil {
		t.Fatal(err)
	}
	if got != "over the wire" {
		t.Errorf("echo = %q", got)
	}
	if _, err := c.ImageState(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestReadHonoursContextAndKeepsTheConnection(t *testing.T) {
	_, u := startBoard(t)
	ctx := context.Background()
	conn, err := Dial(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	buf := make([]byte, 16)
	// The board says nothing until asked; drain its boot log first.
	for {
		if _, err := conn.Read(short, buf); err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Read = %v, want deadline exceeded", err)
			}
			break
		}
	}
	// The connection still works after a Read gave up.
	c := smp.NewClient(conn, nil)
	ectx, ecancel := context.WithTimeout(ctx, 10*time.Second)
	defer ecancel()
	if _, err := c.Echo(ectx, "still here"); err != nil {
		t.Fatal(err)
	}
}

func TestTakeOver(t *testing.T) {
	_, u := startBoard(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first, err := Dial(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// Make sure the board serves the first client before the second comes.
	c1 := smp.NewClient(first, nil)
	if _, err := c1.Echo(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	second, err := Dial(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	c2 := smp.NewClient(second, nil)
	defer c2.Close()
	if _, err := c2.Echo(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	_, err = c1.Echo(ctx, "one again")
	if !errors.Is(err, ErrTakenOver) {
		t.Errorf("the first client's request after a takeover: %v, want ErrTakenOver", err)
	}
}
