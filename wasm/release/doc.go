// Package release is the console's release work, kept out of the UI
// components: building a release from a firmware file (MCUboot signing,
// then age encryption into a signed bundle), verifying the releases the
// server lists against their signed manifests, and opening a release with
// the vault's age identities.
//
// Everything runs where it is called: in the console, in the browser, on
// a goroutine started by ctx.Async. Long loops hand control back to the
// browser between chunks through a Yield function, so a 16 MiB image
// neither freezes the page nor stalls its progress bar. Natively (tests)
// Yield may be nil.
//
// Only the signed manifest and the age ciphertext leave this package for
// the server: the plaintext firmware, the signed image and the keys stay in
// memory here.
package release

import (
	"context"
	"io"
	"time"

	"trustforge/internal/blocks"
	"trustforge/internal/usererr"
)

// Yield gives the browser's event loop a turn; nil does nothing.
type Yield func(ctx context.Context) error

// Stage names a step of Build or Open, for progress reports.
type Stage string

// The stages.
const (
	StageRead     Stage = "read"
	StageSign     Stage = "sign"
	StageEncrypt  Stage = "encrypt"
	StageUpload   Stage = "upload"
	StageDownload Stage = "download"
	StageDecrypt  Stage = "decrypt"
)

// Progress is a progress report: Done of Total bytes of Stage.
type Progress struct {
	Stage       Stage
	Done, Total int64
}

// A long loop reads at most readPiece bytes at a time and yields once
// yieldEvery has passed since it last did, so that no turn of the page's
// thread it takes runs much over yieldEvery (the console's goal is no
// stall over 50 ms), however fast or loaded the machine. A fixed number of
// bytes between yields (512 KiB) made turns of a quarter of a second on a
// loaded machine, where age's ChaCha20-Poly1305 in WebAssembly is slow.
// Turns of 10 ms, not 20: between two turns Blink also paints and runs
// loading tasks ahead of the page's timers, and with 20 ms turns a publish
// still kept a timer waiting 65–75 ms; with 10 ms, 37–54 ms but for the
// gap at the click itself, and the publish no slower (BenchmarkPublish in
// e2e; turns of 6 ms were no better).
const (
	readPiece  = 64 << 10
	yieldEvery = 10 * time.Millisecond
)

// pacer decides when a loop yields.
type pacer struct {
	ctx   context.Context
	yield Yield
	last  time.Time // when it last yielded; zero: not yet
}

// due reports whether yieldEvery has passed since the last yield (or the
// first call).
func (p *pacer) due() bool {
	now := time.Now()
	if p.last.IsZero() {
		p.last = now
	}
	return now.Sub(p.last) >= yieldEvery
}

// pause yields to the browser.
func (p *pacer) pause() error {
	defer func() { p.last = time.Now() }()
	if p.yield == nil {
		return nil
	}
	return p.yield(p.ctx)
}

// yieldingReader reads from r at most readPiece bytes at a time, and
// reports progress and yields when its pacer says so, and at the end.
type yieldingReader struct {
	ctx      context.Context
	r        io.Reader
	yield    Yield
	stage    Stage
	done     int64
	total    int64
	progress func(Progress)
	pace     pacer
}

func (y *yieldingReader) Read(p []byte) (int, error) {
	if err := y.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) > readPiece {
		p = p[:readPiece]
	}
	n, err := y.r.Read(p)
	y.done += int64(n)
	if y.pace.due() || err == io.EOF {
		if y.progress != nil {
			y.progress(Progress{Stage: y.stage, Done: y.done, Total: y.total})
		}
		y.pace.ctx, y.pace.yield = y.ctx, y.yield
		if yerr := y.pace.pause(); yerr != nil {
			return n, yerr
		}
	}
	return n, err
}

// yieldingScratch is an in-memory io.ReadWriteSeeker, written only at
// its end, whose reads yield to the browser as yieldingReader's do.
type yieldingScratch struct {
	ctx   context.Context
	yield Yield
	buf   *blocks.Buffer
	off   int64
	read  bool // Read was called
	pace  pacer
}

func (s *yieldingScratch) Write(p []byte) (int, error) {
	if s.off != s.buf.Len() {
		return 0, usererr.New("release", "scratch written after a seek")
	}
	n, err := s.buf.Write(p)
	s.off = s.buf.Len()
	return n, err
}

func (s *yieldingScratch) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	s.read = true
	if s.off >= s.buf.Len() {
		return 0, io.EOF
	}
	if len(p) > readPiece {
		p = p[:readPiece]
	}
	n, err := s.buf.ReadAt(p, s.off)
	s.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	if err != nil {
		return n, err
	}
	if s.pace.due() {
		s.pace.ctx, s.pace.yield = s.ctx, s.yield
		if err := s.pace.pause(); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (s *yieldingScratch) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = s.off + offset
	case io.SeekEnd:
		abs = s.buf.Len() + offset
	}
	if abs < 0 || abs > s.buf.Len() {
		return 0, usererr.New("release", "scratch seek out of range")
	}
	s.off = abs
	return abs, nil
}
