//go:build !js

// The fake server listens on a socket, which GOOS=js has not.

package station

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"trustforge/wasm/client"
)

// fakeServer answers ticket requests as the release server does, for an
// order of count devices.
func fakeServer(t *testing.T, count int) *httptest.Server {
	var mu sync.Mutex
	issued := 0
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || !strings.HasSuffix(r.URL.Path, "/tickets") {
			http.NotFound(w, r)
			return
		}
		var q struct {
			Device string `json:"device"`
			Count  int    `json:"count"`
		}
		json.NewDecoder(r.Body).Decode(&q)
		n := q.Count
		if q.Device != "" {
			n = 1
		}
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
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
		out.Issued, out.Remaining = issued, count-issued
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(out)
	}))
}

func TestOnlineAndBlockTickets(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t, 5)
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
		tk, left, err := b.Take(ctx, "00aa")
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
