package esprom

import "trustforge/internal/usererr"

// SLIP framing bytes.
const (
	slipEnd    = 0xC0
	slipEsc    = 0xDB
	slipEscEnd = 0xDC
	slipEscEsc = 0xDD
)

// MaxFrame bounds a decoded frame; longer ones are dropped as line noise.
const MaxFrame = 64 << 10

// AppendSLIP appends p framed as one SLIP packet to dst.
func AppendSLIP(dst, p []byte) []byte {
	dst = append(dst, slipEnd)
	for _, c := range p {
		switch c {
		case slipEnd:
			dst = append(dst, slipEsc, slipEscEnd)
		case slipEsc:
			dst = append(dst, slipEsc, slipEscEsc)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, slipEnd)
}

// errBadEscape reports an escape byte followed by something else.
var errBadEscape = usererr.New("esprom", "bad SLIP escape")

// Decoder splits a byte stream into SLIP frames. Bytes outside frames (a
// booting chip's log, noise) are skipped; so are empty frames, frames over
// MaxFrame and frames with a bad escape. The zero value is ready.
type Decoder struct {
	buf    []byte
	in     bool // inside a frame
	esc    bool
	broken bool // frame damaged: drop it at its end
	// Noise counts bytes seen outside frames, for diagnostics.
	Noise int
	// OnNoise, when set, receives each byte seen outside frames: a booting
	// chip's log.
	OnNoise func(c byte)
}

// Feed consumes b and calls frame for each complete frame. The slice
// passed to frame is only valid during the call.
func (d *Decoder) Feed(b []byte, frame func([]byte)) {
	for _, c := range b {
		if !d.in {
			if c == slipEnd {
				d.in, d.buf, d.esc, d.broken = true, d.buf[:0], false, false
			} else {
				d.Noise++
				if d.OnNoise != nil {
					d.OnNoise(c)
				}
			}
			continue
		}
		switch {
		case c == slipEnd:
			if len(d.buf) == 0 {
				// Back-to-back ends: treat the second as a new start.
				continue
			}
			if !d.broken && !d.esc {
				frame(d.buf)
			}
			d.in = false
			d.buf = d.buf[:0]
		case d.esc:
			d.esc = false
			switch c {
			case slipEscEnd:
				d.add(slipEnd)
			case slipEscEsc:
				d.add(slipEsc)
			default:
				d.broken = true
			}
		case c == slipEsc:
			d.esc = true
		default:
			d.add(c)
		}
	}
}

func (d *Decoder) add(c byte) {
	if len(d.buf) >= MaxFrame {
		d.broken = true
		return
	}
	d.buf = append(d.buf, c)
}
