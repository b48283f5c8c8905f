package sim

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"trustforge/crypto/keys"
	"trustforge/devices/internal/pylit"
	"trustforge/devices/serial"
	"trustforge/devices/smp"
)

// ask sends one raw request to the board's server and returns the answer.
func ask(t *testing.T, b *Board, h smp.Header, body any) (smp.Header, map[string]any, []byte) {
	t.Helper()
	raw, err := cbor.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := smp.EncodePacket(h, raw)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	ans, after := b.handleLocked(pkt)
	b.mu.Unlock()
	if after != nil {
		after()
	}
	if ans == nil {
		t.Fatal("no answer")
	}
	ah, ab, err := smp.DecodePacket(ans)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := cbor.Unmarshal(ab, &m); err != nil {
		t.Fatal(err)
	}
	return ah, m, ab
}

func TestServerAnswers(t *testing.T) {
	b, _ := provisioned(t, Config{})
	v1 := smp.Header{Version: 0}
	v2 := smp.Header{Version: 1}
	hdr := func(base smp.Header, op smp.Op, g smp.Group, id uint8) smp.Header {
		base.Op, base.Group, base.ID, base.Seq = op, g, id, 42
		return base
	}
	unknownHash := map[string]any{"hash": bytes.Repeat([]byte{7}, 32), "confirm": false}
	tests := []struct {
		name string
		h    smp.Header
		body any
		want string // fmt of the decoded answer
	}{
		{"echo", hdr(v1, smp.OpWrite, smp.GroupOS, smp.CmdEcho), map[string]string{"d": "hi"}, "map[r:hi]"},
		{"echo without d", hdr(v1, smp.OpWrite, smp.GroupOS, smp.CmdEcho), map[string]string{}, "map[rc:3]"},
		{"params", hdr(v2, smp.OpRead, smp.GroupOS, smp.CmdParams), map[string]any{}, "map[buf_count:4 buf_size:2048]"},
		{"info", hdr(v2, smp.OpRead, smp.GroupOS, smp.CmdInfo), map[string]string{"format": "on"}, "map[output:trustforge-sim Zephyr]"},
		{"info bad format v2", hdr(v2, smp.OpRead, smp.GroupOS, smp.CmdInfo), map[string]string{"format": "q"}, "map[err:map[group:0 rc:2]]"},
		{"info bad format v1", hdr(v1, smp.OpRead, smp.GroupOS, smp.CmdInfo), map[string]string{"format": "q"}, "map[rc:3]"},
		{"bootloader", hdr(v2, smp.OpRead, smp.GroupOS, smp.CmdBootloaderInfo), map[string]any{}, "map[bootloader:MCUboot]"},
		{"bootloader mode", hdr(v2, smp.OpRead, smp.GroupOS, smp.CmdBootloaderInfo), map[string]string{"query": "mode"}, "map[mode:3]"},
		{"bootloader unknown query", hdr(v2, smp.OpRead, smp.GroupOS, smp.CmdBootloaderInfo), map[string]string{"query": "x"}, "map[err:map[group:0 rc:3]]"},
		{"test unknown hash v2", hdr(v2, smp.OpWrite, smp.GroupImage, smp.CmdImageState), unknownHash, "map[err:map[group:1 rc:8]]"},
		{"test unknown hash v1", hdr(v1, smp.OpWrite, smp.GroupImage, smp.CmdImageState), unknownHash, "map[rc:1]"},
		{"test the running image", hdr(v2, smp.OpWrite, smp.GroupImage, smp.CmdImageState), map[string]any{"hash": b.Running().Hash, "confirm": false}, "map[err:map[group:1 rc:33]]"},
		{"test without hash", hdr(v2, smp.OpWrite, smp.GroupImage, smp.CmdImageState), map[string]any{"confirm": false}, "map[err:map[group:1 rc:24] rsn:a test needs a hash]"},
		{"erase slot 0", hdr(v2, smp.OpWrite, smp.GroupImage, smp.CmdImageErase), map[string]any{"slot": 0}, "map[err:map[group:1 rc:9]]"},
		{"erase", hdr(v2, smp.OpWrite, smp.GroupImage, smp.CmdImageErase), map[string]any{}, "map[]"},
		{"upload without off", hdr(v2, smp.OpWrite, smp.GroupImage, smp.CmdImageUpload), map[string]any{"data": []byte{1}}, "map[err:map[group:1 rc:20] rsn:header malformed]"},
		{"upload bad magic", hdr(v2, smp.OpWrite, smp.GroupImage, smp.CmdImageUpload), map[string]any{"off": 0, "len": 100, "data": make([]byte, 40)}, "map[err:map[group:1 rc:23] rsn:magic mismatch]"},
		{"upload too large", hdr(v2, smp.OpWrite, smp.GroupImage, smp.CmdImageUpload), map[string]any{"off": 0, "len": 1 << 30, "data": append([]byte{0x3d, 0xb8, 0xf3, 0x96}, make([]byte, 40)...)}, "map[err:map[group:1 rc:30] rsn:img too large]"},
		{"upload wrong offset", hdr(v2, smp.OpWrite, smp.GroupImage, smp.CmdImageUpload), map[string]any{"off": 4096, "data": []byte{1}}, "map[off:0]"},
		{"slot info", hdr(v2, smp.OpRead, smp.GroupImage, smp.CmdSlotInfo), map[string]any{}, "map[images:[map[image:0 max_image_size:520192 slots:[map[size:524288 slot:0] map[size:524288 slot:1 upload_image_id:0]]]]]"},
		{"unknown command", hdr(v2, smp.OpRead, smp.GroupImage, 77), map[string]any{}, "map[rc:8]"},
		{"unknown group", hdr(v2, smp.OpRead, smp.GroupFS, 0), map[string]any{}, "map[rc:8]"},
		{"bad body", hdr(v2, smp.OpWrite, smp.GroupOS, smp.CmdEcho), []int{1}, "map[rc:3]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ah, got, raw := ask(t, b, tt.h, tt.body)
			if s := fmtMap(got); s != tt.want {
				t.Errorf("answer %s, want %s", s, tt.want)
			}
			if raw[0] != 0xbf {
				t.Errorf("answer is not an indefinite-length map: % x", raw[:min(4, len(raw))])
			}
			if ah.Op != tt.h.Op+1 || ah.Seq != 42 || ah.Group != tt.h.Group || ah.ID != tt.h.ID || ah.Version != tt.h.Version {
				t.Errorf("answer header %+v for request %+v", ah, tt.h)
			}
		})
	}
	// A version 3 request is answered as too new, in version 2.
	ah, got, _ := ask(t, b, smp.Header{Op: smp.OpRead, Version: 2, Group: smp.GroupOS, ID: smp.CmdParams}, map[string]any{})
	if fmtMap(got) != "map[rc:13]" || ah.Version != 1 {
		t.Errorf("version 3 request answered %v (version %d)", got, ah.Version)
	}
}

func fmtMap(m map[string]any) string {
	var b strings.Builder
	writeValue(&b, m)
	return b.String()
}

func writeValue(b *strings.Builder, v any) {
	switch x := v.(type) {
	case map[string]any:
		b.WriteString("map[")
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(k + ":")
			writeValue(b, x[k])
		}
		b.WriteString("]")
	case map[any]any:
		m := map[string]any{}
		for k, v := range x {
			m[k.(string)] = v
		}
		writeValue(b, m)
	case []any:
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeValue(b, e)
		}
		b.WriteString("]")
	default:
		b.WriteString(strings.TrimSpace(strings.ReplaceAll(fmtAny(x), "\n", " ")))
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestMcumgrSessionReplay plays the requests of a real mcumgr session to the
// board, as the upstream client would send them, and checks that the board
// answers each and takes the upload.
func TestMcumgrSessionReplay(t *testing.T) {
	b := newBoard(t, Config{
		SlotSize: 0x40000,
		BootKeys: []*keys.PublicKey{pubKey(t, "ed25519-pub.pem")},
	})
	if err := b.Program(makeImage(t, imageSpec{version: "0.1.0", key: "ed25519.pem"})); err != nil {
		t.Fatal(err)
	}
	boots := b.Running().Boots
	f, err := os.Open("testdata/smp-mcumgr-cli-session.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var lastOff int64
	n := 0
	for sc.Scan() {
		_, lit, ok := strings.Cut(sc.Text(), "RX line (")
		if !ok {
			continue
		}
		_, lit, _ = strings.Cut(lit, "): ")
		raw, err := pylit.Bytes(lit)
		if err != nil {
			t.Fatal(err)
		}
		pkt, err := serial.NewReader(bytes.NewReader(append(raw, '\n'))).ReadPacket()
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := smp.DecodePacket(pkt)
		b.mu.Lock()
		ans, after := b.handleLocked(pkt)
		b.mu.Unlock()
		n++
		ah, body, err := smp.DecodePacket(ans)
		if err != nil || ah.Seq != h.Seq || ah.Op != h.Op+1 {
			t.Fatalf("request %d (%+v): answer %+v, %v", n, h, ah, err)
		}
		var m map[string]any
		cbor.Unmarshal(body, &m)
		switch {
		case h.Group == smp.GroupImage && h.ID == smp.CmdImageUpload:
			off, _ := m["off"].(uint64)
			if int64(off) <= lastOff {
				t.Fatalf("request %d: upload answered %v after offset %d", n, m, lastOff)
			}
			lastOff = int64(off)
			if mt, ok := m["match"]; ok && mt != false {
				t.Errorf("match %v for an upload without SHA-256", mt)
			}
		case h.Group == smp.GroupImage && h.ID == smp.CmdImageState && h.Op == smp.OpWrite:
			// The test succeeds; mcumgr's confirm of the running image while
			// a test is pending is refused, as Zephyr refuses it.
			if _, isErr := m["rc"]; isErr {
				if fmtMap(m) != "map[rc:6]" {
					t.Errorf("request %d: %v", n, m)
				}
			} else if imgs, _ := m["images"].([]any); len(imgs) != 2 {
				t.Errorf("request %d: state %v", n, m)
			}
		case h.Group == smp.GroupOS && h.ID == smp.CmdReset:
			if after == nil {
				t.Fatal("reset was not scheduled")
			}
			after()
		}
	}
	if n < 1000 || lastOff != 66192 {
		t.Fatalf("replayed %d requests, upload reached %d", n, lastOff)
	}
	r := waitRunning(t, b, boots+1)
	if r.Version.String() != "1.2.3+4" || r.Confirmed {
		t.Errorf("after the session's reset the board runs %+v; boot log:\n%s", r, strings.Join(b.BootLog(), "\n"))
	}
}

func TestIndefiniteEncoding(t *testing.T) {
	got, err := cbor.Marshal(imap{{"a", 1}, {"b", ilist{true, imap{}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0xbf, 0x61, 'a', 0x01, 0x61, 'b', 0x9f, 0xf5, 0xbf, 0xff, 0xff, 0xff}
	if !bytes.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
}

func TestClientOverBoard(t *testing.T) {
	b, _ := provisioned(t, Config{})
	for _, v2 := range []bool{false, true} {
		c := connect(t, b, &smp.Options{V2: v2})
		ctx := context.Background()
		if s, err := c.Echo(ctx, "ping"); err != nil || s != "ping" {
			t.Errorf("echo = %q, %v", s, err)
		}
		if p, err := c.Params(ctx); err != nil || p.BufSize != 2048 || p.BufCount != 4 {
			t.Errorf("params = %+v, %v", p, err)
		}
		if m, _, err := c.BootloaderMode(ctx); err != nil || m != smp.BootModeSwapMove {
			t.Errorf("bootloader mode = %v, %v", m, err)
		}
		if s, err := c.SlotInfo(ctx); err != nil || len(s) != 1 || len(s[0].Slots) != 2 || s[0].Slots[1].UploadImageID == nil {
			t.Errorf("slot info = %+v, %v", s, err)
		}
		_, err := c.TestImage(ctx, bytes.Repeat([]byte{1}, 32))
		want := map[bool]string{false: "MGMT_ERR_EUNKNOWN", true: "IMG_MGMT_ERR_HASH_NOT_FOUND"}[v2]
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("v2=%v: test of an unknown hash = %v, want %s", v2, err, want)
		}
	}
}
