//go:build linux || darwin

package serial

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// openPTY returns the controlling side of a fresh pseudo-terminal and the
// path of its terminal side; the test never touches a real serial port.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := MakeRaw(s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s.Name()
}

func TestPortOverPTY(t *testing.T) {
	m, path := openPTY(t)
	p, err := OpenPort(path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Name() != path {
		t.Errorf("Name = %q, want %q", p.Name(), path)
	}

	// Every byte value crosses unchanged both ways: the port is raw.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	if _, err := p.Write(all); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(all))
	if _, err := io.ReadFull(m, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, all) {
		t.Errorf("board side read % x, want % x", got, all)
	}
	if _, err := m.Write(all); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(p, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, all) {
		t.Errorf("host side read % x, want % x", got, all)
	}

	p.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := p.Read(got); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read past deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	p.SetReadDeadline(time.Time{})

	done := make(chan error, 1)
	go func() { _, err := p.Read(got); done <- err }()
	time.Sleep(10 * time.Millisecond)
	p.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Read after Close returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
}

func TestOpenPortErrors(t *testing.T) {
	_, path := openPTY(t)
	plain := filepath.Join(t.TempDir(), "file")
	os.WriteFile(plain, nil, 0o600)
	tests := []struct {
		name, path string
		baud       int
		want       string
	}{
		{"missing", filepath.Join(t.TempDir(), "nope"), 0, "no such file"},
		{"not a tty", plain, 0, "not a serial port"},
		{"odd speed", path, 12345, "not a standard speed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := OpenPort(tt.path, tt.baud)
			if err == nil {
				p.Close()
				t.Fatalf("OpenPort(%q) succeeded", tt.path)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "serial: ") {
				t.Errorf("error = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}
