package link

import (
	"strings"
	"sync"
	"time"

	"trustforge/internal/notify"
)

// LogKind says where a log line comes from.
type LogKind string

// Log line kinds.
const (
	LogSMP     LogKind = "smp"     // a packet sent or answered, a frame dropped
	LogConsole LogKind = "console" // text the board printed between frames
	LogEvent   LogKind = "event"   // the link: connected, unplugged, ...
)

// LogLine is one line of the link's log.
type LogLine struct {
	Time time.Time
	Kind LogKind
	Text string
}

// maxLog bounds the log; older lines are dropped.
const maxLog = 2000

// Log is the link's log: the SMP exchange, the board's console and the
// link's events, for engineers who need to see what went over the wire.
type Log struct {
	mu      sync.Mutex
	lines   []LogLine
	partial map[LogKind]string
	now     func() time.Time
	subs    notify.List
}

func newLog(now func() time.Time) *Log {
	return &Log{partial: map[LogKind]string{}, now: now}
}

// Subscribe calls fn after lines are added or the log is cleared, from
// whichever goroutine added them; fn must not block. It returns the
// function that stops the calls.
func (l *Log) Subscribe(fn func()) (unsubscribe func()) { return l.subs.Add(fn) }

func (l *Log) changed() { l.subs.Notify() }

// Lines returns the log, oldest line first.
func (l *Log) Lines() []LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]LogLine(nil), l.lines...)
}

// Clear empties the log.
func (l *Log) Clear() {
	l.mu.Lock()
	l.lines = nil
	l.mu.Unlock()
	l.changed()
}

// Text returns the log as text, one line per entry.
func (l *Log) Text() string {
	var b strings.Builder
	for _, ln := range l.Lines() {
		b.WriteString(ln.Time.Format("15:04:05.000"))
		b.WriteString(" ")
		b.WriteString(string(ln.Kind))
		b.WriteString(" ")
		b.WriteString(ln.Text)
		b.WriteString("\n")
	}
	return b.String()
}

func (l *Log) add(kind LogKind, text string) {
	l.mu.Lock()
	l.addLocked(kind, text)
	l.mu.Unlock()
	l.changed()
}

func (l *Log) addLocked(kind LogKind, text string) {
	l.lines = append(l.lines, LogLine{Time: l.now(), Kind: kind, Text: text})
	if len(l.lines) > maxLog {
		l.lines = append([]LogLine(nil), l.lines[len(l.lines)-maxLog:]...)
	}
}

// writer returns an io.Writer adding a line of kind for every line
// written; prefix is removed from the lines' starts.
func (l *Log) writer(kind LogKind, prefix string) *logWriter {
	return &logWriter{l: l, kind: kind, prefix: prefix}
}

type logWriter struct {
	l      *Log
	kind   LogKind
	prefix string
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.l.mu.Lock()
	s := w.l.partial[w.kind] + string(p)
	added := false
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(s[:i], "\r")
		s = s[i+1:]
		line = strings.TrimPrefix(line, w.prefix)
		if strings.TrimSpace(line) == "" {
			continue
		}
		w.l.addLocked(w.kind, line)
		added = true
	}
	if len(s) > 4096 {
		w.l.addLocked(w.kind, s)
		s, added = "", true
	}
	w.l.partial[w.kind] = s
	w.l.mu.Unlock()
	if added {
		w.l.changed()
	}
	return len(p), nil
}
