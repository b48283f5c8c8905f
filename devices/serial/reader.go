package serial

import (
	"bytes"
	"encoding/base64"
	"io"

	"trustforge/internal/usererr"
)

// ErrBadFrame marks a frame the Reader dropped: bad base64, a wrong length,
// a bad checksum, a continuation without a start, or a line cut short. The
// stream goes on; call ReadPacket again.
var ErrBadFrame = usererr.New("serial", "bad frame")

// Reader reads SMP packets from a serial byte stream, skipping console text
// between frames.
type Reader struct {
	// MaxPacket bounds the packets the Reader accepts; longer frames are
	// dropped as bad. Zero means MaxPacket, the largest a frame can carry.
	MaxPacket int

	// Console, if not nil, receives every byte that is not part of a frame:
	// the board's console output. Write errors are ignored.
	Console io.Writer

	r   io.Reader
	buf []byte // bytes read from r
	off int    // read position in buf
	err error  // error of the last read, returned once buf is consumed

	inLine  bool // a frame line has started (its marker was seen)
	marker  [2]byte
	line    []byte // base64 body of the current frame line
	half    bool   // the last byte seen in text was a possible marker start
	halfB   byte   // that byte
	pkt     []byte // decoded bytes of the packet being assembled
	want    int    // its length field (packet + CRC), or -1 when none started
	skip    bool   // continuation lines belong to a dropped packet
	console []byte // console bytes waiting to be forwarded
}

// NewReader returns a Reader of the stream r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r, buf: make([]byte, 0, 4096), want: -1}
}

func (r *Reader) maxPacket() int {
	if r.MaxPacket <= 0 || r.MaxPacket > MaxPacket {
		return MaxPacket
	}
	return r.MaxPacket
}

// maxLine bounds a frame line's body: generous for senders with long lines,
// bounded so an endless line cannot exhaust memory.
func (r *Reader) maxLine() int {
	return (r.maxPacket()+4+2)/3*4 + 4
}

// ReadPacket returns the next SMP packet in the stream, without length and
// CRC. A dropped frame is reported as an error wrapping ErrBadFrame, after
// which the stream may be read on. Errors of the underlying reader (io.EOF
// included) are returned as they are; a packet cut short by them is lost.
func (r *Reader) ReadPacket() ([]byte, error) {
	for empty := 0; ; {
		if r.off == len(r.buf) {
			r.flushConsole()
			if r.err != nil {
				err := r.err
				r.err = nil
				return nil, err
			}
			r.buf = r.buf[:cap(r.buf)]
			n, err := r.r.Read(r.buf)
			r.buf, r.off, r.err = r.buf[:n], 0, err
			if n == 0 && err == nil {
				if empty++; empty >= 100 {
					return nil, io.ErrNoProgress
				}
			}
			continue
		}
		pkt, err, done := r.step()
		if done {
			r.flushConsole()
			return pkt, err
		}
	}
}

// step consumes buffered bytes until a packet or a bad frame is complete
// (done) or the buffer is empty.
func (r *Reader) step() (pkt []byte, err error, done bool) {
	for r.off < len(r.buf) {
		b := r.buf[r.off]
		r.off++
		if !r.inLine {
			if r.half {
				r.half = false
				m := [2]byte{r.halfB, b}
				if m == startMarker || m == contMarker {
					r.inLine, r.marker, r.line = true, m, r.line[:0]
					continue
				}
				r.console = append(r.console, r.halfB)
			}
			if b == startMarker[0] || b == contMarker[0] {
				r.half, r.halfB = true, b
				continue
			}
			r.console = append(r.console, b)
			continue
		}
		switch {
		case b == '\n':
			r.inLine = false
			return r.endLine()
		case b == '\r':
		case isBase64(b):
			if len(r.line) >= r.maxLine() {
				r.inLine = false
				return r.drop("line longer than %d bytes", r.maxLine())
			}
			r.line = append(r.line, b)
		default:
			// Not base64: the line was cut short (a reset, console text
			// written over it). Drop it and read this byte as text again.
			r.inLine = false
			r.off--
			return r.drop("frame line cut short by byte %#02x", b)
		}
	}
	return nil, nil, false
}

// endLine decodes a finished frame line into the packet being assembled.
func (r *Reader) endLine() (pkt []byte, err error, done bool) {
	dec, derr := base64.StdEncoding.DecodeString(string(r.line))
	if r.marker == startMarker {
		// A start line abandons any packet still being assembled. Its loss
		// is reported below unless this line completes a packet at once.
		abandoned := r.want >= 0
		r.pkt, r.want, r.skip = r.pkt[:0], -1, false
		switch {
		case derr != nil:
			return r.drop("base64: %v", derr)
		case len(dec) < 2:
			return r.drop("first line holds no length")
		}
		n := int(dec[0])<<8 | int(dec[1])
		if n < 2 || n-2 > r.maxPacket() {
			return r.drop("length %d out of range", n)
		}
		r.want = n
		r.pkt = append(r.pkt, dec[2:]...)
		if abandoned && len(r.pkt) < r.want {
			return nil, usererr.Errorf("", "%w: packet cut short by the start of another", ErrBadFrame), true
		}
	} else {
		switch {
		case r.want < 0 && r.skip:
			return nil, nil, false
		case r.want < 0:
			return r.drop("continuation line without a start")
		case derr != nil:
			return r.drop("base64: %v", derr)
		}
		r.pkt = append(r.pkt, dec...)
	}
	switch {
	case len(r.pkt) < r.want:
		return nil, nil, false
	case len(r.pkt) > r.want:
		return r.drop("%d bytes where the length says %d", len(r.pkt), r.want)
	}
	body := r.pkt[:r.want-2]
	crc := uint16(r.pkt[r.want-2])<<8 | uint16(r.pkt[r.want-1])
	if got := CRC16(body); got != crc {
		return r.drop("checksum %#04x, frame says %#04x", got, crc)
	}
	out := bytes.Clone(body)
	r.pkt, r.want = r.pkt[:0], -1
	return out, nil, true
}

// drop abandons the packet being assembled, quietly skipping its remaining
// continuation lines, and reports why.
func (r *Reader) drop(format string, args ...any) ([]byte, error, bool) {
	r.pkt, r.want, r.skip = r.pkt[:0], -1, true
	return nil, usererr.Errorf("", "%w: "+format, append([]any{ErrBadFrame}, args...)...), true
}

func (r *Reader) flushConsole() {
	if len(r.console) == 0 {
		return
	}
	if r.Console != nil {
		r.Console.Write(r.console)
	}
	r.console = r.console[:0]
}

func isBase64(b byte) bool {
	return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' ||
		b == '+' || b == '/' || b == '='
}
