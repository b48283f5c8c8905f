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
	"errors"
	"io"
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

// yieldChunk is how many bytes are processed between two yields.
const yieldChunk = 512 << 10

// yieldingReader reads from r at most yieldChunk bytes at a time, and
// reports progress and yields after each chunk.
type yieldingReader struct {
	ctx      context.Context
	r        io.Reader
	yield    Yield
	stage    Stage
	done     int64
	total    int64
	since    int
	progress func(Progress)
}

func (y *yieldingReader) Read(p []byte) (int, error) {
	if err := y.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) > yieldChunk-y.since {
		p = p[:yieldChunk-y.since]
	}
	n, err := y.r.Read(p)
	y.done += int64(n)
	y.since += n
	if y.since >= yieldChunk || err == io.EOF {
		y.since = 0
		if y.progress != nil {
			y.progress(Progress{Stage: y.stage, Done: y.done, Total: y.total})
		}
		if y.yield != nil {
			if yerr := y.yield(y.ctx); yerr != nil {
				return n, yerr
			}
		}
	}
	return n, err
}

// yieldingScratch is an in-memory io.ReadWriteSeeker whose reads yield to
// the browser every yieldChunk bytes.
type yieldingScratch struct {
	ctx   context.Context
	yield Yield
	buf   []byte
	off   int
	since int
}

func (s *yieldingScratch) Write(p []byte) (int, error) {
	if s.off != len(s.buf) {
		return 0, errors.New("release: scratch written after a seek")
	}
	s.buf = append(s.buf, p...)
	s.off = len(s.buf)
	return len(p), nil
}

func (s *yieldingScratch) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	if s.off >= len(s.buf) {
		return 0, io.EOF
	}
	if len(p) > yieldChunk-s.since {
		p = p[:yieldChunk-s.since]
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	s.since += n
	if s.since >= yieldChunk {
		s.since = 0
		if s.yield != nil {
			if err := s.yield(s.ctx); err != nil {
				return n, err
			}
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
		abs = int64(s.off) + offset
	case io.SeekEnd:
		abs = int64(len(s.buf)) + offset
	}
	if abs < 0 || abs > int64(len(s.buf)) {
		return 0, errors.New("release: scratch seek out of range")
	}
	s.off = int(abs)
	return abs, nil
}
