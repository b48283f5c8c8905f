package link

import (
	"strings"
	"testing"
)

// FuzzLogWriter feeds the log what a board prints on its console, in any
// pieces: it never panics, keeps at most maxLog lines, and no line holds a
// newline.
func FuzzLogWriter(f *testing.F) {
	f.Add([]byte("*** Booting Zephyr OS ***\r\n[00:00:00.001] <inf> mcuboot: Starting bootloader\n"), 7)
	f.Add([]byte("\x06\x09AAEC\n\x04\x14==\n"), 1)
	f.Add([]byte(strings.Repeat("x", 5000)), 100)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		l := New()
		w := l.log.writer(LogConsole, "")
		if cut <= 0 || cut > len(data) {
			cut = len(data)
		}
		for len(data) > 0 {
			n := min(cut, len(data))
			w.Write(data[:n])
			data = data[n:]
		}
		lines := l.Log().Lines()
		if len(lines) > maxLog {
			t.Fatalf("%d lines kept", len(lines))
		}
		for _, ln := range lines {
			if strings.ContainsRune(ln.Text, '\n') {
				t.Fatalf("line %q holds a newline", ln.Text)
			}
		}
	})
}
