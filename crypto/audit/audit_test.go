package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func testChain(t testing.TB, n int) []Entry {
	t.Helper()
	var head Head
	var out []Entry
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	for i := 0; i < n; i++ {
		e, err := Next(head, Event{
			Time:    t0.Add(time.Duration(i) * time.Minute),
			Actor:   "alice",
			Action:  "release.publish",
			Subject: fmt.Sprintf("release-%d", i),
			Detail:  map[string]string{"channel": "beta", "version": fmt.Sprintf("1.%d.0", i)},
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
		head = e.Head()
	}
	return out
}

func export(t testing.TB, es []Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, e := range es {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestVerifyIntact(t *testing.T) {
	es := testChain(t, 5)
	head, err := Verify(bytes.NewReader(export(t, es)))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got, want := head, es[4].Head(); got != want {
		t.Errorf("head = %+v, want %+v", got, want)
	}
	if err := CheckHead(head, es[4].Head()); err != nil {
		t.Errorf("CheckHead(same) = %v", err)
	}
	if err := CheckHead(head, es[2].Head()); err != nil {
		t.Errorf("CheckHead(older) = %v", err)
	}
}

func TestVerifyEmpty(t *testing.T) {
	head, err := Verify(strings.NewReader(""))
	if err != nil || head != (Head{}) {
		t.Errorf("Verify(empty) = %+v, %v; want zero head, nil", head, err)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func([]Entry) []Entry
		wantSeq uint64
	}{
		{"edit subject", func(es []Entry) []Entry { es[2].Subject = "other"; return es }, 3},
		{"edit time", func(es []Entry) []Entry { es[1].Time = es[1].Time.Add(time.Nanosecond); return es }, 2},
		{"edit detail", func(es []Entry) []Entry {
			es[3].Detail = map[string]string{"channel": "stable", "version": "1.3.0"}
			return es
		}, 4},
		{"edit and rehash", func(es []Entry) []Entry { es[1].Actor = "mallory"; es[1].Hash = es[1].Sum(); return es }, 3},
		{"remove middle", func(es []Entry) []Entry { return append(es[:2:2], es[3:]...) }, 3},
		{"remove first", func(es []Entry) []Entry { return es[1:] }, 1},
		{"swap", func(es []Entry) []Entry { es[1], es[2] = es[2], es[1]; return es }, 2},
		{"renumber after removal", func(es []Entry) []Entry {
			es = append(es[:2:2], es[3:]...)
			for i := range es {
				es[i].Seq = uint64(i + 1)
			}
			return es
		}, 3},
		{"duplicate", func(es []Entry) []Entry { return append(es[:3:3], es[2:]...) }, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := tt.mutate(testChain(t, 5))
			_, err := Verify(bytes.NewReader(export(t, es)))
			var ce *ChainError
			if !errors.As(err, &ce) || !errors.Is(err, ErrBroken) {
				t.Fatalf("Verify = %v, want a *ChainError", err)
			}
			if ce.Seq != tt.wantSeq {
				t.Errorf("broken at %d, want %d (%v)", ce.Seq, tt.wantSeq, err)
			}
		})
	}
}

func TestCheckHeadDetectsTruncation(t *testing.T) {
	es := testChain(t, 5)
	head, err := Verify(bytes.NewReader(export(t, es[:3])))
	if err != nil {
		t.Fatalf("Verify(prefix) = %v; a prefix is an intact chain", err)
	}
	if err := CheckHead(head, es[4].Head()); !errors.Is(err, ErrBroken) {
		t.Errorf("CheckHead(truncated) = %v, want ErrBroken", err)
	}
	forged := es[2].Head()
	forged.Hash[0] ^= 1
	if err := CheckHead(head, forged); !errors.Is(err, ErrBroken) {
		t.Errorf("CheckHead(other hash) = %v, want ErrBroken", err)
	}
}

func TestReaderErrors(t *testing.T) {
	good := string(export(t, testChain(t, 1)))
	tests := []struct{ name, in, want string }{
		{"not json", "hello\n", "line 1"},
		{"unknown field", `{"seq":1,"evil":true}` + "\n", "unknown field"},
		{"bad hash", strings.Replace(good, `"hash":"`, `"hash":"zz`, 1), "hash"},
		{"trailing", strings.TrimSpace(good) + " {}\n", "trailing"},
		{"too long", `{"actor":"` + strings.Repeat("a", MaxLineLen) + `"}`, "longer than"},
		{"field too long", `{"actor":"` + strings.Repeat("a", MaxFieldLen+1) + `"}`, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Verify = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestNextRejectsOversizedFields(t *testing.T) {
	_, err := Next(Head{}, Event{Actor: strings.Repeat("x", MaxFieldLen+1)})
	if !errors.Is(err, ErrFieldTooLong) {
		t.Errorf("Next = %v, want ErrFieldTooLong", err)
	}
}

// TestKnownAnswer pins the hash encoding: a change here breaks every stored
// log and every console that verifies exports.
func TestKnownAnswer(t *testing.T) {
	want, err := os.ReadFile("testdata/known.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if got := export(t, testChain(t, 2)); !bytes.Equal(got, want) {
		t.Errorf("export =\n%s\nwant\n%s", got, want)
	}
	if _, err := Verify(bytes.NewReader(want)); err != nil {
		t.Errorf("Verify(known) = %v", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(export(f, testChain(f, 3)))
	f.Add([]byte("{}\n\n{}"))
	f.Add([]byte(`{"seq":1,"time":"2025-01-01T00:00:00Z","prev":"` + strings.Repeat("0", 64) + `"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		head, err := Verify(bytes.NewReader(b))
		if err != nil {
			return
		}
		// Whatever verifies must re-export to a log with the same head.
		var es []Entry
		r := NewReader(bytes.NewReader(b))
		for {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Next after Verify succeeded: %v", err)
			}
			es = append(es, e)
		}
		got, err := Verify(bytes.NewReader(export(t, es)))
		if err != nil || got != head {
			t.Fatalf("re-export verifies to %+v, %v; want %+v", got, err, head)
		}
	})
}
