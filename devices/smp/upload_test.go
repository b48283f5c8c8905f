package smp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// uploadBoard answers uploads the way Zephyr's image group does.
type uploadBoard struct {
	t        *testing.T
	bufSize  int // 0: no params command
	bufCount int
	hold     int // hold answers until this many requests wait
	slot     []byte

	mu       sync.Mutex
	size     int64 // of the session, 0 when none
	off      int64
	sha      []byte
	drop     map[int]bool // request numbers (1-based) to lose
	n        int
	held     [][]byte
	offsets  []int64 // offsets of the upload requests received
	maxPkt   int
	badMatch bool
	restart  int // answer this request number as a board that restarted
	errBody  any // answer every upload with this
}

func (b *uploadBoard) handle(h Header, body []byte) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	if b.drop[b.n] {
		return nil
	}
	b.maxPkt = max(b.maxPkt, HeaderLen+len(body))
	if h.Group == GroupOS && h.ID == CmdParams {
		if b.bufSize == 0 {
			return reply(b.t, h, map[string]int{"rc": int(RCNotSupported)})
		}
		return reply(b.t, h, map[string]int{"buf_size": b.bufSize, "buf_count": b.bufCount})
	}
	if b.errBody != nil {
		return reply(b.t, h, b.errBody)
	}
	var r uploadReq
	if err := cbor.Unmarshal(body, &r); err != nil {
		b.t.Errorf("bad upload request: %v", err)
		return nil
	}
	b.offsets = append(b.offsets, r.Off)
	if b.n == b.restart {
		b.size, b.off = 0, 0
	}
	ans := map[string]any{}
	switch {
	case r.Off == 0 && b.size != 0 && bytes.Equal(r.SHA, b.sha):
		// The same upload: say where it stands.
	case r.Off == 0:
		if r.Len == 0 || len(r.SHA) != 32 && len(r.SHA) != 0 {
			b.t.Errorf("first request without len or sha: %+v", r)
		}
		b.size, b.off, b.sha = r.Len, 0, r.SHA
		b.slot = make([]byte, r.Len)
		fallthrough
	case r.Off == b.off && b.size != 0:
		copy(b.slot[r.Off:], r.Data)
		b.off += int64(len(r.Data))
		if b.off == b.size && len(b.sha) > 0 {
			sum := sha256.Sum256(b.slot)
			ans["match"] = bytes.Equal(sum[:], b.sha) != b.badMatch
		}
	}
	ans["off"] = b.off
	a := reply(b.t, h, ans)
	if b.hold > 0 && r.Off != 0 && b.off != b.size {
		b.held = append(b.held, a)
		if len(b.held) < b.hold {
			return nil
		}
		a = bytes.Join(b.held, nil)
		b.held = nil
	} else if len(b.held) > 0 {
		a = append(bytes.Join(b.held, nil), a...)
		b.held = nil
	}
	return a
}

func testImage(n int) []byte {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	img := make([]byte, n)
	for i := range img {
		img[i] = byte(rng.Uint32())
	}
	copy(img, []byte{0x3d, 0xb8, 0xf3, 0x96})
	return img
}

func TestUpload(t *testing.T) {
	img := testImage(20000)
	tests := []struct {
		name    string
		board   *uploadBoard
		opts    UploadOptions
		wantPkt int // largest packet allowed
		wantWin int
		rewinds bool
	}{
		{name: "zephyr defaults", board: &uploadBoard{bufSize: 384, bufCount: 4}, wantPkt: 380, wantWin: 4},
		{name: "pipelined", board: &uploadBoard{bufSize: 1024, bufCount: 4, hold: 4}, wantPkt: 1020, wantWin: 4},
		{name: "no params", board: &uploadBoard{}, wantPkt: LinePacket, wantWin: 1},
		{name: "options win", board: &uploadBoard{bufSize: 2048, bufCount: 8}, opts: UploadOptions{PacketSize: 200, Window: 2}, wantPkt: 200, wantWin: 2},
		{name: "lost request", board: &uploadBoard{bufSize: 512, bufCount: 3, drop: map[int]bool{5: true}}, wantPkt: 508, wantWin: 3, rewinds: true},
		{name: "lost first and last", board: &uploadBoard{bufSize: 512, bufCount: 3, drop: map[int]bool{2: true, 58: true}}, wantPkt: 508, wantWin: 3, rewinds: true},
		{name: "board restarted", board: &uploadBoard{bufSize: 512, bufCount: 3, restart: 20}, wantPkt: 508, wantWin: 3, rewinds: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.board
			b.t = t
			f := newFakeBoard(b.handle)
			c := newTestClient(t, f, &Options{Timeout: 100 * time.Millisecond})
			var last UploadProgress
			tt.opts.Progress = func(p UploadProgress) {
				if p.Offset < last.Offset && !tt.rewinds {
					t.Errorf("progress went back from %d to %d", last.Offset, p.Offset)
				}
				last = p
			}
			res, err := c.Upload(context.Background(), img, &tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.slot, img) {
				t.Error("the board's slot does not hold the image")
			}
			if res.Checked != (res.PacketSize > LinePacket) {
				t.Errorf("checked = %v with %d-byte packets", res.Checked, res.PacketSize)
			}
			if b.maxPkt > tt.wantPkt || res.PacketSize > tt.wantPkt {
				t.Errorf("largest packet %d (result says %d), limit %d", b.maxPkt, res.PacketSize, tt.wantPkt)
			}
			if res.PacketSize < tt.wantPkt-3 {
				t.Errorf("largest packet %d, want close to %d", res.PacketSize, tt.wantPkt)
			}
			if res.Window != tt.wantWin {
				t.Errorf("window %d, want %d", res.Window, tt.wantWin)
			}
			if (res.Rewinds > 0) != tt.rewinds {
				t.Errorf("rewinds = %d, want some: %v", res.Rewinds, tt.rewinds)
			}
			if last.Offset != int64(len(img)) || last.Total != int64(len(img)) {
				t.Errorf("last progress %+v, want the whole image", last)
			}
		})
	}
}

func TestUploadResume(t *testing.T) {
	img := testImage(30000)
	b := &uploadBoard{t: t, bufSize: 512, bufCount: 4}
	f := newFakeBoard(b.handle)
	c := newTestClient(t, f, &Options{Timeout: 100 * time.Millisecond})

	// The first run stops (the user pressed ^C) after some progress.
	ctx, cancel := context.WithCancel(context.Background())
	_, err := c.Upload(ctx, img, &UploadOptions{Progress: func(p UploadProgress) {
		if p.Offset > 10000 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Upload = %v, want context.Canceled", err)
	}
	b.mu.Lock()
	held := b.off
	b.offsets = nil
	b.mu.Unlock()

	res, err := c.Upload(context.Background(), img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Start != held {
		t.Errorf("resumed at %d, the board held %d", res.Start, held)
	}
	for _, off := range b.offsets[1:] {
		if off < held {
			t.Errorf("sent offset %d again after resuming at %d", off, held)
		}
	}
	if !bytes.Equal(b.slot, img) {
		t.Error("the board's slot does not hold the image")
	}
}

func TestUploadErrors(t *testing.T) {
	img := testImage(5000)
	tests := []struct {
		name  string
		board *uploadBoard
		check func(error) bool
		want  string
	}{
		{"too large", &uploadBoard{bufSize: 512, bufCount: 2, errBody: map[string]any{"err": map[string]int{"group": 1, "rc": ImageErrTooLarge}}},
			func(err error) bool { return IsGroupError(err, GroupImage, ImageErrTooLarge) }, "too large for the slot"},
		{"mismatch", &uploadBoard{bufSize: 512, bufCount: 2, badMatch: true},
			func(err error) bool { return errors.Is(err, ErrUploadMismatch) }, "does not match"},
		{"silent board", &uploadBoard{bufSize: 512, bufCount: 2, drop: dropAfter(3)},
			func(err error) bool { return errors.Is(err, ErrTimeout) }, "run the upload again to resume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.board
			b.t = t
			c := newTestClient(t, newFakeBoard(b.handle), &Options{Timeout: 30 * time.Millisecond})
			_, err := c.Upload(context.Background(), img, nil)
			if err == nil || !tt.check(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Upload = %v, want %q", err, tt.want)
			}
		})
	}
	c := newTestClient(t, newFakeBoard(ok(t)), nil)
	if _, err := c.Upload(context.Background(), nil, nil); err == nil {
		t.Error("Upload of nothing succeeded")
	}
	if _, err := c.Upload(context.Background(), img, &UploadOptions{PacketSize: 40, Window: 1}); err == nil || !strings.Contains(err.Error(), "no room") {
		t.Errorf("Upload with 40-byte packets = %v, want a packet size error", err)
	}
}

func dropAfter(n int) map[int]bool {
	m := map[int]bool{}
	for i := n; i < 1000; i++ {
		m[i] = true
	}
	return m
}
