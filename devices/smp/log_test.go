package smp

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"trustforge/devices/internal/pylit"
	"trustforge/devices/serial"
)

// TestMcumgrSessionLog decodes every request of a real mcumgr session and
// checks it against what the log says it was, and every answer the board
// sent against the request it answers.
func TestMcumgrSessionLog(t *testing.T) {
	f, err := os.Open("testdata/smp-mcumgr-cli-session.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var (
		req      Header
		haveReq  bool
		lineNo   int
		requests int
		answers  int
	)
	for sc.Scan() {
		lineNo++
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "RX line ("):
			_, lit, _ := strings.Cut(l, "): ")
			raw, err := pylit.Bytes(lit)
			if err != nil {
				t.Fatalf("line %d: %v", lineNo, err)
			}
			pkt, err := serial.NewReader(bytes.NewReader(append(raw, '\n'))).ReadPacket()
			if err != nil {
				t.Fatalf("line %d: %v", lineNo, err)
			}
			if !sc.Scan() {
				t.Fatalf("line %d: no RX hdr line follows", lineNo)
			}
			lineNo++
			req = checkLoggedRequest(t, lineNo, pkt, sc.Text())
			haveReq = true
			requests++
		case strings.HasPrefix(l, "TX frames: "):
			raw, err := pylit.Bytes(strings.TrimPrefix(l, "TX frames: "))
			if err != nil {
				t.Fatalf("line %d: %v", lineNo, err)
			}
			if !haveReq {
				t.Fatalf("line %d: answer without a request", lineNo)
			}
			checkLoggedAnswer(t, lineNo, req, raw)
			answers++
		}
	}
	if requests < 1000 || answers != requests {
		t.Errorf("checked %d requests and %d answers", requests, answers)
	}
}

func checkLoggedRequest(t *testing.T, lineNo int, pkt []byte, hdrLine string) Header {
	t.Helper()
	fields := map[string]string{}
	rest, body, _ := strings.Cut(strings.TrimPrefix(hdrLine, "RX hdr: "), " body=")
	for _, kv := range strings.Fields(rest) {
		k, v, _ := strings.Cut(kv, "=")
		fields[k] = v
	}
	h, cb, err := DecodePacket(pkt)
	if err != nil {
		t.Fatalf("line %d: %v", lineNo, err)
	}
	num := func(k string) int {
		n, err := strconv.Atoi(fields[k])
		if err != nil {
			t.Fatalf("line %d: field %s=%q", lineNo, k, fields[k])
		}
		return n
	}
	got := []int{int(h.Op), int(h.Version), int(h.Flags), int(h.Len), int(h.Group), int(h.Seq), int(h.ID)}
	want := []int{num("op"), num("ver"), num("flags"), num("len"), num("group"), num("seq"), num("id")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("line %d: header %v, log says %v", lineNo, got, want)
	}
	if hb := hex.EncodeToString(pkt[:HeaderLen]); hb != fields["hdrbytes"] {
		t.Errorf("line %d: header bytes %s, log says %s", lineNo, hb, fields["hdrbytes"])
	}
	wantBody, err := pylit.Value(body)
	if err != nil {
		t.Fatalf("line %d: body %q: %v", lineNo, body, err)
	}
	var gotBody map[string]any
	if err := cbor.Unmarshal(cb, &gotBody); err != nil {
		t.Fatalf("line %d: CBOR body: %v", lineNo, err)
	}
	wm := wantBody.(map[string]any)
	if len(gotBody) != len(wm) {
		t.Errorf("line %d: body has %d keys, log says %d", lineNo, len(gotBody), len(wm))
	}
	for k, w := range wm {
		g, found := gotBody[k]
		if !found {
			t.Errorf("line %d: body lacks %q", lineNo, k)
			continue
		}
		if !sameValue(g, w) {
			t.Errorf("line %d: %s = %v, log says %v", lineNo, k, g, w)
		}
	}
	return h
}

// sameValue compares a decoded CBOR value with a logged Python value; the
// log abbreviates long byte strings as '<N bytes>'.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case bool:
		return got == w
	case int64:
		switch g := got.(type) {
		case uint64:
			return w >= 0 && uint64(w) == g
		case int64:
			return g == w
		}
		return false
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(g, w)
	case string:
		if n, ok := strings.CutSuffix(strings.TrimPrefix(w, "<"), " bytes>"); ok && strings.HasPrefix(w, "<") {
			g, isBytes := got.([]byte)
			return isBytes && strconv.Itoa(len(g)) == n
		}
		return got == w
	}
	return false
}

func checkLoggedAnswer(t *testing.T, lineNo int, req Header, raw []byte) {
	t.Helper()
	pkt, err := serial.NewReader(bytes.NewReader(raw)).ReadPacket()
	if err != nil {
		t.Fatalf("line %d: %v", lineNo, err)
	}
	// The answer frames re-encode byte for byte.
	again, err := serial.Encode(pkt)
	if err != nil || !bytes.Equal(again, raw) {
		t.Errorf("line %d: re-encoded answer differs:\n got %q\nwant %q", lineNo, again, raw)
	}
	h, body, err := DecodePacket(pkt)
	if err != nil {
		t.Fatalf("line %d: %v", lineNo, err)
	}
	if h.Op != req.Op+1 || h.Group != req.Group || h.ID != req.ID || h.Seq != req.Seq {
		t.Errorf("line %d: answer header %+v does not answer %+v", lineNo, h, req)
	}
	name := fmt.Sprintf("%s %d", req.Group, req.ID)
	switch {
	case req.Group == GroupImage && req.ID == CmdImageState:
		var a stateAnswer
		if err := decodeAnswer(name, h.Group, body, &a); err != nil || len(a.Images) == 0 || len(a.Images[0].Hash) != 32 {
			t.Errorf("line %d: image state answer: %v %+v", lineNo, err, a)
		}
	case req.Group == GroupImage && req.ID == CmdImageUpload:
		var a uploadAnswer
		if err := decodeAnswer(name, h.Group, body, &a); err != nil || a.Off == nil {
			t.Errorf("line %d: upload answer: %v %+v", lineNo, err, a)
		}
	default:
		if err := decodeAnswer(name, h.Group, body, nil); err != nil {
			t.Errorf("line %d: %v", lineNo, err)
		}
	}
}
