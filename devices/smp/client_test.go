package smp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trustforge/devices/internal/pylit"
)

// serialExamples returns the serial lines of testdata/smp-serial-examples.txt
// by example name.
func serialExamples(t *testing.T) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/smp-serial-examples.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string][]byte{}
	name := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "# ") {
			name = strings.TrimPrefix(l, "# ")
		}
		if v, ok := strings.CutPrefix(l, "serial line:"); ok {
			b, err := pylit.Bytes(v)
			if err != nil {
				t.Fatal(err)
			}
			m[name] = b
		}
	}
	return m
}

func ok(t testing.TB) func(h Header, body []byte) []byte {
	return func(h Header, body []byte) []byte {
		switch {
		case h.Group == GroupOS && h.ID == CmdEcho:
			return reply(t, h, map[string]string{"r": "hello"})
		case h.Group == GroupOS && h.ID == CmdParams:
			return reply(t, h, map[string]int{"buf_size": 384, "buf_count": 4})
		}
		return reply(t, h, map[string]any{"images": []any{}})
	}
}

// TestRequestsMatchVectors checks that the client's requests are, byte for
// byte, the frames of the examples.
func TestRequestsMatchVectors(t *testing.T) {
	ex := serialExamples(t)
	hash := []byte{0x76, 0xa3, 0x56, 0xa8, 0x7c, 0xa0, 0x1a, 0x01, 0x8c, 0xfb, 0x19, 0xaa, 0x00, 0x55, 0x71, 0x3b,
		0x64, 0x77, 0x27, 0xa1, 0x5d, 0x4a, 0x8d, 0xf8, 0x0d, 0x2a, 0xad, 0xa0, 0x3e, 0xe9, 0xe4, 0xe3}
	ctx := context.Background()
	tests := []struct {
		name string
		v2   bool
		seq  uint8
		do   func(c *Client) error
	}{
		{"OS echo 'hello' (v1, write)", false, 0, func(c *Client) error { _, err := c.Echo(ctx, "hello"); return err }},
		{"OS echo 'hello' (v2, write)", true, 1, func(c *Client) error { _, err := c.Echo(ctx, "hello"); return err }},
		{"IMG state read (v2)", true, 2, func(c *Client) error { _, err := c.ImageState(ctx); return err }},
		{"OS mcumgr params read (v2)", true, 3, func(c *Client) error { _, err := c.Params(ctx); return err }},
		{"OS reset (v2)", true, 4, func(c *Client) error { return c.Reset(ctx, false) }},
		{"IMG state write test (v2)", true, 5, func(c *Client) error { _, err := c.TestImage(ctx, hash); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, found := ex[tt.name]
			if !found {
				t.Fatalf("no example %q", tt.name)
			}
			f := newFakeBoard(ok(t))
			c := newTestClient(t, f, &Options{V2: tt.v2})
			c.seq = tt.seq
			if err := tt.do(c); err != nil {
				t.Fatal(err)
			}
			if len(f.frames) != 1 || !bytes.Equal(f.frames[0], want) {
				t.Errorf("sent %q, want %q", f.frames, want)
			}
		})
	}
}

func TestErrorsByName(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		answer map[string]any
		want   string
		check  func(error) bool
	}{
		{"v1 rc", map[string]any{"rc": 8}, "smp: image list: the board does not support this command (MGMT_ERR_ENOTSUP)",
			func(err error) bool { return IsRC(err, RCNotSupported) }},
		{"v1 rc with reason", map[string]any{"rc": 3, "rsn": "bad hash"}, "(MGMT_ERR_EINVAL): bad hash",
			func(err error) bool { return IsRC(err, RCInvalid) }},
		{"v2 image error", map[string]any{"err": map[string]any{"group": 1, "rc": 8}},
			"smp: image list: no image on the board has that hash (IMG_MGMT_ERR_HASH_NOT_FOUND)",
			func(err error) bool { return IsGroupError(err, GroupImage, ImageErrHashNotFound) }},
		{"v2 OS error", map[string]any{"err": map[string]any{"group": 0, "rc": 3}}, "(OS_MGMT_ERR_QUERY_YIELDS_NO_ANSWER)",
			func(err error) bool { return IsGroupError(err, GroupOS, OSErrNoAnswer) }},
		{"v2 unknown group", map[string]any{"err": map[string]any{"group": 77, "rc": 3}}, "(group 77 group error 3)",
			func(err error) bool { return IsGroupError(err, 77, 3) }},
		{"per-user rc", map[string]any{"rc": 257}, "(MGMT_ERR_EPERUSER+1)", func(err error) bool { return IsRC(err, 257) }},
		{"success with rc 0", map[string]any{"rc": 0, "images": []any{}}, "", nil},
		{"success with err rc 0", map[string]any{"err": map[string]any{"group": 1, "rc": 0}}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeBoard(func(h Header, body []byte) []byte { return reply(t, h, tt.answer) })
			c := newTestClient(t, f, nil)
			_, err := c.ImageState(ctx)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ImageState = %v, want success", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
			if !tt.check(err) {
				t.Errorf("error %v does not match its code", err)
			}
		})
	}
	for code := range imageTexts {
		if code == 0 {
			continue
		}
		e := &Error{Cmd: "x", Group: GroupImage, Code: code, GroupError: true}
		if strings.Contains(e.Error(), "group error") {
			t.Errorf("image code %d has no name: %v", code, e)
		}
	}
}

func TestIndefiniteLengthAnswer(t *testing.T) {
	// {_ "images": [_ {_ "slot": 0, "version": "1.2.3", "hash": h'0102', "active": true}]}
	body := []byte{0xbf, 0x66, 'i', 'm', 'a', 'g', 'e', 's', 0x9f, 0xbf,
		0x64, 's', 'l', 'o', 't', 0x00,
		0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x65, '1', '.', '2', '.', '3',
		0x64, 'h', 'a', 's', 'h', 0x42, 0x01, 0x02,
		0x66, 'a', 'c', 't', 'i', 'v', 'e', 0xf5,
		0xff, 0xff, 0xff}
	f := newFakeBoard(func(h Header, _ []byte) []byte { return replyRaw(t, h, body) })
	c := newTestClient(t, f, nil)
	imgs, err := c.ImageState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Version != "1.2.3" || !imgs[0].Active || !bytes.Equal(imgs[0].Hash, []byte{1, 2}) {
		t.Errorf("images = %+v", imgs)
	}
}

func TestRetriesAndStrays(t *testing.T) {
	var n atomic.Int32
	f := newFakeBoard(func(h Header, body []byte) []byte {
		switch n.Add(1) {
		case 1:
			return nil // lost
		case 2:
			// Console text, a stray answer with another seq, one for
			// another command, a corrupt frame, then the answer.
			var b []byte
			b = append(b, "[00:00:01] <inf> app: tick\r\n"...)
			b = append(b, reply(t, Header{Op: h.Op, Group: h.Group, ID: h.ID, Seq: h.Seq + 7}, map[string]string{"r": "stray"})...)
			b = append(b, reply(t, Header{Op: h.Op, Group: GroupImage, ID: 0, Seq: h.Seq}, map[string]string{"r": "wrong group"})...)
			bad := reply(t, h, map[string]string{"r": "corrupt"})
			bad[5] ^= 1
			b = append(b, bad...)
			return append(b, reply(t, h, map[string]string{"r": "hello"})...)
		}
		return nil
	})
	var console bytes.Buffer
	c := newTestClient(t, f, &Options{Timeout: 50 * time.Millisecond, Console: &syncWriter{w: &console}})
	got, err := c.Echo(context.Background(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	if got != "hello" {
		t.Errorf("Echo = %q, want hello", got)
	}
	if f.requestCount() != 2 {
		t.Errorf("board saw %d requests, want 2", f.requestCount())
	}
	if !strings.Contains(console.String(), "tick") {
		t.Errorf("console = %q, want the board's log line", console.String())
	}
}

func TestResetIsNeverRepeated(t *testing.T) {
	f := newFakeBoard(func(h Header, body []byte) []byte { return nil })
	c := newTestClient(t, f, &Options{Timeout: 30 * time.Millisecond, Retries: 5})
	err := c.Reset(context.Background(), false)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "not sent again") {
		t.Errorf("Reset = %v, want a timeout that says it was not repeated", err)
	}
	if n := f.requestCount(); n != 1 {
		t.Errorf("reset was sent %d times, want once", n)
	}
	// An idempotent command is sent 1 + Retries times.
	_, err = c.Echo(context.Background(), "x")
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("Echo = %v, want ErrTimeout", err)
	}
	if n := f.requestCount(); n != 1+6 {
		t.Errorf("board saw %d requests, want 7", n)
	}
}

func TestCancelAndClose(t *testing.T) {
	f := newFakeBoard(func(h Header, body []byte) []byte { return nil })
	c := NewClient(f, &Options{Timeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := c.Echo(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Echo with cancelled ctx = %v, want context.Canceled", err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.Echo(context.Background(), "x"); done <- err }()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Echo across Close = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a waiting request")
	}
	if _, err := c.Echo(context.Background(), "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("Echo after Close = %v, want ErrClosed", err)
	}
}

func TestLinkFailure(t *testing.T) {
	f := newFakeBoard(func(h Header, body []byte) []byte { return nil })
	c := newTestClient(t, f, &Options{Timeout: time.Hour})
	go func() { time.Sleep(20 * time.Millisecond); f.Close() }()
	_, err := c.Echo(context.Background(), "x")
	if !errors.Is(err, ErrLinkDown) || !strings.Contains(err.Error(), "link to the board failed") {
		t.Errorf("Echo over a dropped link = %v", err)
	}
}

func TestBadAnswers(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"not a map", []byte{0x01}, "not a CBOR map"},
		{"truncated", []byte{0xbf, 0x61}, "not a CBOR map"},
		{"wrong type", []byte{0xa1, 0x66, 'i', 'm', 'a', 'g', 'e', 's', 0x01}, "unexpected answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeBoard(func(h Header, _ []byte) []byte { return replyRaw(t, h, tt.body) })
			c := newTestClient(t, f, nil)
			_, err := c.ImageState(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}
