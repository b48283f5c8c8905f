//go:build !js

// The fake server listens on a socket, which GOOS=js has not.

package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"trustforge/wasm/client"
)

// fakeServer answers ticket requests as the release server does, for an
// order of count devices: a device's ticket, or a named block, asked for
// again is handed out again without counting. With lose set, the first
// answer to each device or block is lost: the ticket is issued and the
// connection cut.
func fakeServer(t *testing.T, count int, lose bool) *httptest.Server {
	var mu sync.Mutex
	issued := 0
	known := map[string]client.Tickets{} // by device or request name
	lost := map[string]bool{}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || !strings.HasSuffix(r.URL.Path, "/tickets") {
			http.NotFound(w, r)
			return
		}
		var q struct {
			Device  string `json:"device"`
			Count   int    `json:"count"`
			Request string `json:"request"`
		}
		json.NewDecoder(r.Body).Decode(&q)
		n, key := q.Count, "r:"+q.Request
		if q.Device != "" {
			n, key = 1, "d:"+q.Device
		}
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if out, ok := known[key]; ok && key != "r:" {
			out.Issued, out.Remaining = issued, count-issued
			w.WriteHeader(200)
			json.NewEncoder(w).Encode(out)
			return
		}
		if issued+n > count {
			w.WriteHeader(409)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "count_reached",
				"message": "authorised count reached: all tickets of order b1 are issued"}})
			return
		}
		var out client.Tickets
		for range n {
			issued++
			out.Tickets = append(out.Tickets, client.Ticket{Seq: issued, Device: q.Device, Signed: []byte{byte(issued)}})
		}
		known[key] = out
		if lose && !lost[key] {
			lost[key] = true
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
			return
		}
		out.Issued, out.Remaining = issued, count-issued
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(out)
	}))
}

func TestOnlineAndBlockTickets(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t, 5, false)
	defer srv.Close()
	online := &Online{API: &client.Client{BaseURL: srv.URL}, Package: "pkg"}
	b := &Block{Online: online}
	if err := b.Fetch(ctx, MaxBlock+1); err == nil {
		t.Error("fetched a block larger than the server allows")
	}
	if err := b.Fetch(ctx, 3); err != nil || b.Held() != 3 {
		t.Fatalf("Fetch(3): %v, %d held", err, b.Held())
	}
	// The block is used first, then the server, then the count is reached.
	var got []byte
	for i := range 5 {
		tk, left, err := b.Take(ctx, fmt.Sprintf("00a%d", i))
		if err != nil {
			t.Fatalf("ticket %d: %v", i+1, err)
		}
		got = append(got, tk[0])
		if want := 4 - i; left != want {
			t.Errorf("after ticket %d: %d left, want %d", i+1, left, want)
		}
	}
	if string(got) != "\x01\x02\x03\x04\x05" {
		t.Errorf("tickets in order %v", got)
	}
	_, _, err := b.Take(ctx, "00ab")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "authorised count reached") {
		t.Errorf("past the count: %v", err)
	}
	if err := b.Fetch(ctx, 1); !errors.Is(err, ErrRefused) {
		t.Errorf("a block past the count: %v", err)
	}
	offline := &Block{}
	if _, _, err := offline.Take(ctx, "00ac"); !errors.Is(err, ErrRefused) {
		t.Errorf("an empty block offline: %v", err)
	}
}

// A station whose answers are lost asks again and gets what was issued:
// the lost tickets are not counted twice.
func TestTicketAnswersLost(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t, 4, true)
	defer srv.Close()
	online := &Online{API: &client.Client{BaseURL: srv.URL}, Package: "pkg"}
	b := &Block{Online: online}
	if err := b.Fetch(ctx, 3); err != nil || b.Held() != 3 {
		t.Fatalf("Fetch(3) with its first answer lost: %v, %d held", err, b.Held())
	}
	var got []byte
	for _, dev := range []string{"00a0", "00a1", "00a2", "00a3"} {
		tk, _, err := b.Take(ctx, dev)
		if err != nil {
			t.Fatalf("device %s: %v", dev, err)
		}
		got = append(got, tk[0])
	}
	if string(got) != "\x01\x02\x03\x04" {
		t.Errorf("tickets %v, want 1 to 4: one block and one online ticket, each counted once", got)
	}
}
