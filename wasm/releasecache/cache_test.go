package releasecache

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"trustforge/wasm/client"
	"trustforge/wasm/storage"
)

// bundleServer serves one bundle at the release API's path, with ranges
// and an ETag as the release server does; cut, when set, makes the next
// whole download stop after that many bytes.
type bundleServer struct {
	mu     sync.Mutex
	data   []byte
	etag   string
	cut    int
	ranges []string
}

func (s *bundleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, etag, cut := s.data, s.etag, s.cut
	s.cut = 0
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.mu.Unlock()
	if r.URL.Path != "/api/releases/"+testID+"/bundle" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", etag)
	if cut > 0 && r.Header.Get("Range") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:cut])
		panic(http.ErrAbortHandler) // the connection drops mid-download
	}
	http.ServeContent(w, r, "bundle.tfb", time.Time{}, bytes.NewReader(data))
}

const testID = "d69d285f"

func fixture(t *testing.T, size int) (*bundleServer, *client.Client, *Cache) {
	t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 13)
	}
	bs := &bundleServer{data: data, etag: `"v1"`}
	hs := httptest.NewServer(bs)
	t.Cleanup(hs.Close)
	return bs, &client.Client{BaseURL: hs.URL}, &Cache{Store: &storage.Memory{}}
}

func TestDownloadAndRead(t *testing.T) {
	bs, api, c := fixture(t, 3*ChunkSize+1234)
	ctx := context.Background()
	rel := client.Release{ID: testID, Product: "thermo", Version: "1.2.0", BundleSize: int64(len(bs.data))}
	keys := []client.Key{{Product: "thermo", Fingerprint: "ab", PublicKey: "-----BEGIN PUBLIC KEY-----"}}
	var calls int
	e, err := c.Download(ctx, api, rel, keys, func(have, total int64) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if !e.Complete() || e.Saved.IsZero() || len(e.Keys) != 1 {
		t.Errorf("entry %+v, want complete with its keys", e)
	}
	if calls != 4 {
		t.Errorf("%d progress calls, want one per stored chunk (4)", calls)
	}
	got, err := c.Bundle(ctx, testID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bs.data) {
		t.Error("the stored bundle differs from the download")
	}
	// A second download of a complete release asks nothing of the server.
	n := len(bs.ranges)
	if _, err := c.Download(ctx, api, rel, keys, nil); err != nil {
		t.Fatal(err)
	}
	if len(bs.ranges) != n {
		t.Error("a cached release was downloaded again")
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 1 || list[0].Release.Version != "1.2.0" {
		t.Errorf("List = %+v, %v", list, err)
	}
	if err := c.Delete(ctx, testID); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.List(ctx); len(list) != 0 {
		t.Errorf("after Delete: %+v", list)
	}
	if keys, _ := c.Store.List(ctx, ""); len(keys) != 0 {
		t.Errorf("after Delete the store holds %v", keys)
	}
}

func TestDownloadResumes(t *testing.T) {
	bs, api, c := fixture(t, 2*ChunkSize+500)
	ctx := context.Background()
	rel := client.Release{ID: testID, BundleSize: int64(len(bs.data))}
	bs.cut = ChunkSize + 100
	e, err := c.Download(ctx, api, rel, nil, nil)
	if err == nil || e.Complete() {
		t.Fatalf("a cut download finished: %+v, %v", e, err)
	}
	if e.Have != ChunkSize+100 {
		t.Errorf("after the cut %d bytes are stored, want %d", e.Have, ChunkSize+100)
	}
	// The second attempt asks for the rest only.
	e, err = c.Download(ctx, api, rel, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if last := bs.ranges[len(bs.ranges)-1]; last != "bytes="+strconv.Itoa(ChunkSize+100)+"-" {
		t.Errorf("the resumed request asked for %q", last)
	}
	got, err := c.Bundle(ctx, testID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bs.data) {
		t.Error("the resumed bundle differs from the original")
	}
}

func TestDownloadRestartsWhenTheBundleChanged(t *testing.T) {
	bs, api, c := fixture(t, 2*ChunkSize)
	ctx := context.Background()
	rel := client.Release{ID: testID, BundleSize: int64(len(bs.data))}
	bs.cut = ChunkSize + 10
	if _, err := c.Download(ctx, api, rel, nil, nil); err == nil {
		t.Fatal("a cut download finished")
	}
	bs.mu.Lock()
	bs.data = bytes.Repeat([]byte{7}, 2*ChunkSize)
	bs.etag = `"v2"`
	bs.mu.Unlock()
	if _, err := c.Download(ctx, api, rel, nil, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Bundle(ctx, testID)
	if !bytes.Equal(got, bs.data) {
		t.Error("pieces of two versions were mixed")
	}
}

func TestBundleOfUnknownRelease(t *testing.T) {
	c := &Cache{Store: &storage.Memory{}}
	if _, err := c.Bundle(context.Background(), "abc"); err == nil {
		t.Error("a release never downloaded was read")
	}
	if _, err := c.Download(context.Background(), &client.Client{}, client.Release{ID: "../x"}, nil, nil); err == nil {
		t.Error("a malformed release id was accepted")
	}
}
