//go:build !js

package link

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"trustforge/devices/sim"
	"trustforge/devices/wsboard"
)

func simURL(t *testing.T) string {
	t.Helper()
	b, err := sim.New(sim.Config{SlotSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sim.NewHandler(b))
	t.Cleanup(func() { hs.Close(); b.Close() })
	u, err := wsboard.URL(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSimulatedLink(t *testing.T) {
	u := simURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l := New()
	changes := make(chan struct{}, 100)
	defer l.Subscribe(func() {
		select {
		case changes <- struct{}{}:
		default:
		}
	})()
	if _, err := l.Client(); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Client of an idle link = %v", err)
	}
	if _, err := l.Next(ctx, nil); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Next on an idle link = %v, want ErrNotConnected at once", err)
	}
	if err := l.ConnectSimulated(ctx, u); err != nil {
		t.Fatal(err)
	}
	st := l.Status()
	if st.State != Connected || st.Kind != Simulated || !strings.Contains(st.Label, "Simulated") {
		t.Errorf("status %+v", st)
	}
	c, err := l.Next(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Echo(ctx, "hi"); err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 {
		t.Error("no change was notified")
	}
	// The exchange is logged.
	text := l.Log().Text()
	if !strings.Contains(text, "sent OS write id 0") || !strings.Contains(text, "connected to the simulated board") {
		t.Errorf("log lacks the echo exchange:\n%s", text)
	}

	// Another client taking the board over fails this link, with why.
	other, err := wsboard.Dial(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for l.Status().State == Connected {
		select {
		case <-changes:
		case <-ctx.Done():
			t.Fatal("the link did not notice the takeover")
		}
	}
	if st := l.Status(); st.State != Failed || !errors.Is(st.Err, wsboard.ErrTakenOver) {
		t.Errorf("after a takeover: %+v", st)
	}
	l.Disconnect()
	if st := l.Status(); st.State != Idle {
		t.Errorf("after Disconnect: %+v", st)
	}
}

func TestLogWriterSplitsLines(t *testing.T) {
	l := New()
	w := l.log.writer(LogConsole, "")
	w.Write([]byte("*** Booting Zephyr"))
	w.Write([]byte(" ***\r\n[00:00] boot\n\n"))
	lines := l.Log().Lines()
	if len(lines) != 2 || lines[0].Text != "*** Booting Zephyr ***" || lines[1].Text != "[00:00] boot" {
		t.Errorf("lines %+v", lines)
	}
	for range maxLog + 10 {
		w.Write([]byte("x\n"))
	}
	if n := len(l.Log().Lines()); n != maxLog {
		t.Errorf("%d lines kept, want %d", n, maxLog)
	}
	l.Log().Clear()
	if n := len(l.Log().Lines()); n != 0 {
		t.Errorf("%d lines after Clear", n)
	}
}
