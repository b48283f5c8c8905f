package client

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// flaky serves content, cutting the connection halfway through the first
// response, as a bad link in the field does.
func flaky(content []byte, etag string) (http.Handler, *atomic.Int32) {
	var calls atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("ETag", etag)
		if n == 1 && r.Header.Get("Range") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(len(content)))
			w.WriteHeader(200)
			w.Write(content[:len(content)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		http.ServeContent(w, r, "x.tfb", time.Time{}, bytes.NewReader(content))
	}), &calls
}

func TestDownloadResumesAfterCut(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	h, calls := flaky(content, `"b-1"`)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Token: "tft_x"}
	var got bytes.Buffer
	var seen string
	total, err := c.Download(context.Background(), "1", PartBundle, &got, Resume{Retries: 2, OnETag: func(e string) error { seen = e; return nil }})
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	if total != int64(len(content)) || !bytes.Equal(got.Bytes(), content) {
		t.Errorf("got %d of %d bytes, equal=%v", got.Len(), len(content), bytes.Equal(got.Bytes(), content))
	}
	if calls.Load() != 2 || seen != `"b-1"` {
		t.Errorf("%d requests, ETag %q; want 2, \"b-1\"", calls.Load(), seen)
	}
}

func TestDownloadRefusesChangedContent(t *testing.T) {
	content := []byte("new content of the bundle")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"b-2"`)
		http.ServeContent(w, r, "x.tfb", time.Time{}, bytes.NewReader(content))
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL}
	var got bytes.Buffer
	_, err := c.Download(context.Background(), "1", PartBundle, &got, Resume{Offset: 4, ETag: `"b-1"`})
	if !errors.Is(err, ErrChanged) || got.Len() != 0 {
		t.Errorf("Download with a stale ETag = %v, wrote %d bytes; want ErrChanged, nothing", err, got.Len())
	}
}

func TestErrorDecoding(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(409)
		w.Write([]byte(`{"error":{"code":"version_not_newer","message":"version 1.0.0 is not above 1.1.0"}}`))
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Token: "tft_x"}
	_, err := c.Push(context.Background(), bytes.NewReader([]byte("x")), 1)
	var e *Error
	if !errors.As(err, &e) || e.Status != 409 || e.Code != "version_not_newer" {
		t.Errorf("Push error = %#v", err)
	}
}
