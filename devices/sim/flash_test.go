package sim

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFlashRules(t *testing.T) {
	f, err := OpenFlash("", 4*4096, 4096, 8)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Read(0, 4); !bytes.Equal(got, []byte{0xff, 0xff, 0xff, 0xff}) {
		t.Errorf("new flash reads % x, want erased", got)
	}
	if err := f.Write(8, []byte("12345678")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"write over written", f.Write(8, []byte("abcdefgh")), ErrNotErased},
		{"unaligned offset", f.Write(4, []byte("abcdefgh")), ErrAlignment},
		{"unaligned length", f.Write(16, []byte("abc")), ErrAlignment},
		{"unaligned erase", f.Erase(100, 4096), ErrAlignment},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if err := f.Write(4*4096, make([]byte, 8)); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("write past the end: %v", err)
	}
	if err := f.Erase(0, 4096); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(8, []byte("abcdefgh")); err != nil {
		t.Errorf("write after erase: %v", err)
	}
}

func TestFlashFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flash.bin")
	f, err := OpenFlash(path, 2*4096, 4096, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Write(4096, []byte("kept")); err != nil {
		t.Fatal(err)
	}
	// No Close: a killed simulator still leaves what it wrote.
	g, err := OpenFlash(path, 2*4096, 4096, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := g.Read(4096, 4); string(got) != "kept" {
		t.Errorf("reopened flash reads %q, want %q", got, "kept")
	}
	g.Close()
	f.Close()
	if _, err := OpenFlash(path, 4*4096, 4096, 4); err == nil || !strings.Contains(err.Error(), "slot size") {
		t.Errorf("opening with another size: %v", err)
	}
	st, _ := os.Stat(path)
	if st.Size() != 2*4096 {
		t.Errorf("file is %d bytes", st.Size())
	}
}
