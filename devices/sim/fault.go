package sim

import (
	"fmt"
	"time"
)

// FaultKind is a kind of fault the board can be made to suffer.
type FaultKind int

// Faults.
const (
	// DropLink makes the link go silent both ways, as a pulled cable does,
	// After more bytes from the host, For a while (zero: until
	// RestoreLink). The board keeps running and keeps its upload state.
	DropLink FaultKind = iota + 1
	// CutPower cuts the board's power After more bytes from the host, For
	// a while (zero: until PowerOn). RAM, and so an upload in progress, is
	// lost; flash is kept.
	CutPower
	// CorruptRequest corrupts the Nth frame the host sends from now on
	// (1: the next), so that the board drops it for its checksum.
	CorruptRequest
	// CorruptAnswer corrupts the Nth answer frame the board sends from now
	// on, so that the host drops it.
	CorruptAnswer
	// SlowAnswers delays every answer by For (zero: no delay).
	SlowAnswers
)

// Fault describes a fault to inject.
type Fault struct {
	Kind  FaultKind
	After int64         // DropLink, CutPower: bytes from the host first
	Nth   int           // CorruptRequest, CorruptAnswer: which frame, from 1
	For   time.Duration // DropLink, CutPower: how long; SlowAnswers: the delay
}

// faults is the board's armed faults.
type faults struct {
	dropAfter, cutAfter int64 // bytes to go; negative when not armed
	dropFor, cutFor     time.Duration
	corruptReq          int // frames to go; 0 when not armed
	corruptAns          int
	delay               time.Duration
	linkDown            bool
	linkGen             int // bumped when the link is restored, to cancel timers

	prev      byte // the last byte from the host, to spot frame starts
	corruptIn int  // bytes left before the byte to corrupt; 0 when none
}

// Inject arms a fault.
func (b *Board) Inject(f Fault) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch f.Kind {
	case DropLink:
		b.faults.dropAfter, b.faults.dropFor = max(f.After, 0), f.For
	case CutPower:
		b.faults.cutAfter, b.faults.cutFor = max(f.After, 0), f.For
	case CorruptRequest:
		b.faults.corruptReq = max(f.Nth, 1)
	case CorruptAnswer:
		b.faults.corruptAns = max(f.Nth, 1)
	case SlowAnswers:
		b.faults.delay = f.For
	default:
		return fmt.Errorf("sim: unknown fault kind %d", f.Kind)
	}
	if f.Kind == DropLink && f.After == 0 {
		b.dropLinkLocked()
	}
	if f.Kind == CutPower && f.After == 0 {
		b.cutPowerLocked()
	}
	return nil
}

// ClearFaults disarms every fault, restores the link and, if the power is
// cut, powers the board on.
func (b *Board) ClearFaults() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults = faults{linkGen: b.faults.linkGen + 1}
	b.disarmLocked()
	if !b.powered {
		b.powerOnLocked()
	}
}

func (b *Board) disarmLocked() {
	b.faults.dropAfter, b.faults.cutAfter = -1, -1
}

// RestoreLink plugs the link back in.
func (b *Board) RestoreLink() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.restoreLinkLocked()
}

func (b *Board) restoreLinkLocked() {
	if b.faults.linkDown {
		b.logf("link restored")
	}
	b.faults.linkDown = false
	b.faults.linkGen++
}

// PowerOn powers on a board whose power was cut.
func (b *Board) PowerOn() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.powered {
		b.powerOnLocked()
	}
}

func (b *Board) dropLinkLocked() {
	b.faults.dropAfter = -1
	b.faults.linkDown = true
	b.faults.linkGen++
	b.logf("link dropped")
	if d := b.faults.dropFor; d > 0 {
		g := b.faults.linkGen
		b.afterLocked(d, func() {
			if b.faults.linkGen == g {
				b.restoreLinkLocked()
			}
		})
	}
}

func (b *Board) cutPowerLocked() {
	b.faults.cutAfter = -1
	b.logf("power cut")
	b.powered = false
	b.gen++
	b.upload = uploadSession{}
	if d := b.faults.cutFor; d > 0 {
		gen := b.gen
		b.afterLocked(d+b.cfg.BootTime, func() {
			if b.gen == gen && !b.powered {
				b.powerOnLocked()
			}
		})
	}
}

// hostBytesLocked applies the faults to bytes arriving from the host and
// returns those the board's receiver gets.
func (b *Board) hostBytesLocked(p []byte) []byte {
	f := &b.faults
	out := p[:0:0]
	for _, c := range p {
		if f.dropAfter >= 0 {
			if f.dropAfter == 0 {
				b.dropLinkLocked()
			} else {
				f.dropAfter--
			}
		}
		if f.cutAfter >= 0 {
			if f.cutAfter == 0 {
				b.cutPowerLocked()
			} else {
				f.cutAfter--
			}
		}
		if f.prev == startMarker0 && c == startMarker1 && f.corruptReq > 0 {
			if f.corruptReq--; f.corruptReq == 0 {
				f.corruptIn = 8
			}
		}
		f.prev = c
		if f.corruptIn > 0 {
			if f.corruptIn--; f.corruptIn == 0 {
				c = corruptBase64(c)
				b.logf("corrupted a request frame")
			}
		}
		if f.linkDown || !b.powered {
			continue
		}
		out = append(out, c)
	}
	return out
}

const (
	startMarker0 = 0x06
	startMarker1 = 0x09
)

// corruptBase64 changes a base64 character into another one, so that the
// frame still parses and fails its checksum.
func corruptBase64(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

// corruptAnswerLocked corrupts an answer frame when a CorruptAnswer fault
// is due.
func (b *Board) corruptAnswerLocked(frame []byte) {
	if b.faults.corruptAns == 0 {
		return
	}
	if b.faults.corruptAns--; b.faults.corruptAns == 0 && len(frame) > 10 {
		frame[10] = corruptBase64(frame[10])
		b.logf("corrupted an answer frame")
	}
}
