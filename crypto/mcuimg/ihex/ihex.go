// Package ihex reads and writes Intel HEX files, the other input and output
// format of MCUboot's imgtool next to raw binaries.
//
// Parse accepts the record types 00–05 with 16- and 32-bit addressing and
// refuses bad checksums, overlapping data and anything after the
// end-of-file record. Binary flattens a file into one block, filling gaps
// with a given byte, up to a size limit so that a few records cannot make it
// allocate gigabytes.
package ihex

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sort"

	"trustforge/internal/usererr"
)

// Record types.
const (
	recData          = 0x00
	recEOF           = 0x01
	recExtSegment    = 0x02
	recStartSegment  = 0x03
	recExtLinear     = 0x04
	recStartLinear   = 0x05
	bytesPerRecord   = 16
	maxRecordDataLen = 255
)

// ErrSyntax reports a malformed Intel HEX file.
var ErrSyntax = usererr.New("ihex", "syntax error")

// ErrOverlap reports two records that write different bytes to one address.
var ErrOverlap = usererr.New("ihex", "overlapping data")

// ErrTooLarge reports a file whose data spans more than the allowed size.
var ErrTooLarge = usererr.New("ihex", "data spans too many bytes")

// Segment is a run of bytes at an address.
type Segment struct {
	Addr uint32
	Data []byte
}

// File is a parsed Intel HEX file.
type File struct {
	// Segments are the file's data, sorted by address, adjacent runs merged.
	Segments []Segment
	// Start is the start address (record 05, or CS:IP of record 03 as
	// CS<<4+IP) when the file has one.
	Start *uint32
}

// Parse reads an Intel HEX file.
func Parse(data []byte) (*File, error) {
	f := &File{}
	var upper uint32 // extended address: linear upper 16 bits, or segment base
	var segs []Segment
	eof := false
	for lineNo, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n := lineNo + 1
		if eof {
			return nil, usererr.Errorf("", "%w: line %d: data after the end-of-file record", ErrSyntax, n)
		}
		if line[0] != ':' {
			return nil, usererr.Errorf("", "%w: line %d: record does not start with ':'", ErrSyntax, n)
		}
		raw := make([]byte, hex.DecodedLen(len(line)-1))
		if _, err := hex.Decode(raw, line[1:]); err != nil || len(line)%2 == 0 {
			return nil, usererr.Errorf("", "%w: line %d: not an even number of hex digits", ErrSyntax, n)
		}
		if len(raw) < 5 || len(raw) != 5+int(raw[0]) {
			return nil, usererr.Errorf("", "%w: line %d: record length does not match its byte count", ErrSyntax, n)
		}
		var sum byte
		for _, c := range raw {
			sum += c
		}
		if sum != 0 {
			return nil, usererr.Errorf("", "%w: line %d: bad checksum", ErrSyntax, n)
		}
		addr := uint32(raw[1])<<8 | uint32(raw[2])
		typ, payload := raw[3], raw[4:len(raw)-1]
		switch typ {
		case recData:
			if len(payload) == 0 {
				continue
			}
			start := upper + addr
			if uint64(start)+uint64(len(payload)) > 1<<32 {
				return nil, usererr.Errorf("", "%w: line %d: data runs past the 4 GiB address space", ErrSyntax, n)
			}
			segs = append(segs, Segment{Addr: start, Data: payload})
		case recEOF:
			if len(payload) != 0 {
				return nil, usererr.Errorf("", "%w: line %d: end-of-file record with data", ErrSyntax, n)
			}
			eof = true
		case recExtSegment, recExtLinear:
			if len(payload) != 2 || addr != 0 {
				return nil, usererr.Errorf("", "%w: line %d: extended address record needs 2 bytes at address 0", ErrSyntax, n)
			}
			v := uint32(payload[0])<<8 | uint32(payload[1])
			if typ == recExtSegment {
				upper = v << 4
			} else {
				upper = v << 16
			}
		case recStartSegment, recStartLinear:
			if len(payload) != 4 {
				return nil, usererr.Errorf("", "%w: line %d: start address record needs 4 bytes", ErrSyntax, n)
			}
			v := uint32(payload[0])<<24 | uint32(payload[1])<<16 | uint32(payload[2])<<8 | uint32(payload[3])
			if typ == recStartSegment {
				v = (v>>16)<<4 + v&0xffff
			}
			f.Start = &v
		default:
			return nil, usererr.Errorf("", "%w: line %d: unknown record type %#02x", ErrSyntax, n, typ)
		}
	}
	if !eof {
		return nil, usererr.Errorf("", "%w: no end-of-file record", ErrSyntax)
	}
	merged, err := merge(segs)
	if err != nil {
		return nil, err
	}
	f.Segments = merged
	return f, nil
}

// merge sorts segments, refuses conflicting overlaps and joins adjacent ones.
func merge(segs []Segment) ([]Segment, error) {
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].Addr < segs[j].Addr })
	var out []Segment
	for _, s := range segs {
		if len(out) == 0 {
			out = append(out, Segment{Addr: s.Addr, Data: append([]byte(nil), s.Data...)})
			continue
		}
		last := &out[len(out)-1]
		end := uint64(last.Addr) + uint64(len(last.Data))
		switch {
		case uint64(s.Addr) > end:
			out = append(out, Segment{Addr: s.Addr, Data: append([]byte(nil), s.Data...)})
		default:
			// Overlap or adjacency: overlapping bytes must agree.
			off := int(uint64(s.Addr) - uint64(last.Addr))
			common := min(len(s.Data), len(last.Data)-off)
			if !bytes.Equal(last.Data[off:off+common], s.Data[:common]) {
				return nil, usererr.Errorf("", "%w at %#x", ErrOverlap, s.Addr)
			}
			last.Data = append(last.Data, s.Data[common:]...)
		}
	}
	return out, nil
}

// Binary returns the file's data as one block starting at the lowest
// address, gaps filled with fill, as imgtool reads a HEX input. It refuses
// files whose data spans more than maxSize bytes.
func (f *File) Binary(fill byte, maxSize int) (base uint32, data []byte, err error) {
	if len(f.Segments) == 0 {
		return 0, nil, nil
	}
	first, last := f.Segments[0], f.Segments[len(f.Segments)-1]
	span := uint64(last.Addr) + uint64(len(last.Data)) - uint64(first.Addr)
	if span > uint64(maxSize) {
		return 0, nil, usererr.Errorf("", "%w: %#x to %#x is %d bytes, limit %d", ErrTooLarge, first.Addr, uint64(first.Addr)+span, span, maxSize)
	}
	data = bytes.Repeat([]byte{fill}, int(span))
	for _, s := range f.Segments {
		copy(data[s.Addr-first.Addr:], s.Data)
	}
	return first.Addr, data, nil
}

// Encode writes segments as an Intel HEX file with 16 data bytes a record
// and extended linear address records, ending with an end-of-file record.
func Encode(segs ...Segment) ([]byte, error) {
	var b bytes.Buffer
	upper := uint32(0)
	for _, s := range segs {
		if uint64(s.Addr)+uint64(len(s.Data)) > 1<<32 {
			return nil, usererr.Errorf("ihex", "segment at %#x of %d bytes runs past 4 GiB", s.Addr, len(s.Data))
		}
		for off := 0; off < len(s.Data); {
			addr := s.Addr + uint32(off)
			if addr>>16 != upper {
				upper = addr >> 16
				writeRecord(&b, recExtLinear, 0, []byte{byte(upper >> 8), byte(upper)})
			}
			// A record stays within one 64 KiB page.
			n := min(bytesPerRecord, len(s.Data)-off, int(0x10000-(addr&0xffff)))
			writeRecord(&b, recData, uint16(addr), s.Data[off:off+n])
			off += n
		}
	}
	writeRecord(&b, recEOF, 0, nil)
	return b.Bytes(), nil
}

func writeRecord(b *bytes.Buffer, typ byte, addr uint16, data []byte) {
	rec := append([]byte{byte(len(data)), byte(addr >> 8), byte(addr), typ}, data...)
	var sum byte
	for _, c := range rec {
		sum += c
	}
	rec = append(rec, -sum)
	b.WriteByte(':')
	b.WriteString(fmt.Sprintf("%X", rec))
	b.WriteByte('\n')
}
