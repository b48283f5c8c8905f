package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"trustforge/internal/testsvc"
)

func TestMain(m *testing.M) { testsvc.Main(m) }

// opener opens an empty store of the back end under test.
type opener func(t *testing.T) Store

var suite = []struct {
	name string
	fn   func(*testing.T, opener)
}{
	{"RoundTrip", testRoundTrip},
	{"LargeStreamedAndRanged", testLargeStreamedAndRanged},
	{"AbortListsNothing", testAbortListsNothing},
	{"NotFound", testNotFound},
	{"SameBytesTwice", testSameBytesTwice},
	{"CollectKeepsYoungAndReferenced", testCollect},
}

func runSuite(t *testing.T, open opener) {
	for _, tt := range suite {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

func TestDir(t *testing.T) {
	runSuite(t, func(t *testing.T) Store {
		d, err := OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

// openS3 opens a fresh bucket with small parts, so multipart uploads are
// exercised with small blobs.
func openS3(t *testing.T) *S3 {
	t.Helper()
	b := testsvc.S3(t)
	c, err := ParseS3URL(b.URL("tf/blobs"))
	if err != nil {
		t.Fatal(err)
	}
	c.Creds = credentials.NewStaticV4(b.AccessKey, b.SecretKey, "")
	s, err := OpenS3(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	s.PartSize = 5 << 20
	return s
}

func TestS3(t *testing.T) {
	runSuite(t, func(t *testing.T) Store { return openS3(t) })
}

func payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, s Store, data []byte) Digest {
	t.Helper()
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for p := data; len(p) > 0; {
		k := min(len(p), 100_000)
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	d, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := Digest(sha256.Sum256(data)); d != want {
		t.Fatalf("Commit = %s, want %s", d, want)
	}
	return d
}

func listed(t *testing.T, s Store) []Digest {
	t.Helper()
	var out []Digest
	if err := s.Walk(context.Background(), func(d Digest) error { out = append(out, d); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// A blob of several parts streams in, reads back whole and from any
// offset.
func testLargeStreamedAndRanged(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	data := payload(12<<20+12345, 7)
	d := put(t, s, data)
	o, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Size() != int64(len(data)) {
		t.Fatalf("Size = %d, want %d", o.Size(), len(data))
	}
	for _, off := range []int64{int64(len(data)) - 10, 5<<20 - 1, 3, 0} {
		if _, err := o.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, min(4096, int64(len(data))-off))
		if _, err := io.ReadFull(o, got); err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if !bytes.Equal(got, data[off:off+int64(len(got))]) {
			t.Errorf("bytes at %d differ", off)
		}
	}
	o.Seek(0, io.SeekStart)
	h := sha256.New()
	if _, err := io.Copy(h, o); err != nil || Digest(h.Sum(nil)) != d {
		t.Errorf("whole read: %v, digest mismatch=%v", err, Digest(h.Sum(nil)) != d)
	}
	if got := listed(t, s); len(got) != 1 || got[0] != d {
		t.Errorf("Walk = %v, want [%s]", got, d)
	}
}

// An aborted upload, small or multipart, leaves nothing listed, and a
// sweep leaves nothing at all.
func testAbortListsNothing(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	for _, n := range []int{100, 11 << 20} {
		w, err := s.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(payload(n, 3))
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort after %d bytes: %v", n, err)
		}
		if _, err := w.Commit(ctx); err == nil {
			t.Error("Commit after Abort succeeded")
		}
	}
	if got := listed(t, s); len(got) != 0 {
		t.Errorf("Walk after aborts = %v", got)
	}
}

func testNotFound(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	if _, err := s.Open(ctx, Digest{1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(missing) = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, Digest{1}); err != nil {
		t.Errorf("Delete(missing) = %v", err)
	}
}

// Two writers of the same bytes, at once, share one blob.
func testSameBytesTwice(t *testing.T, open opener) {
	s := open(t)
	data := payload(6<<20, 9)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); put(t, s, data) }()
	}
	wg.Wait()
	if got := listed(t, s); len(got) != 1 {
		t.Errorf("Walk = %v, want one blob", got)
	}
}

func testCollect(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	kept, orphan := put(t, s, []byte("kept")), put(t, s, []byte("orphan"))
	keep := func(d Digest) bool { return d == kept }
	// Within the grace period nothing is collected: the orphan may be an
	// upload whose metadata is about to be recorded elsewhere.
	if n, err := Collect(ctx, s, keep, time.Now().Add(-time.Hour), nil); err != nil || (n != 0 && isShared(s)) {
		t.Errorf("Collect within grace = %d, %v; want 0", n, err)
	}
	if n, err := Collect(ctx, s, keep, time.Now().Add(time.Hour), nil); err != nil || n != 1 && isShared(s) {
		t.Errorf("Collect = %d, %v; want 1", n, err)
	}
	if got := listed(t, s); len(got) != 1 || got[0] != kept {
		t.Errorf("after Collect: %v, want [%s] (orphan %s)", got, kept, orphan)
	}
}

func isShared(s Store) bool { _, ok := s.(InfoWalker); return ok }

// A multipart upload cut off (SIGKILL: no Commit, no Abort) leaves no
// listed blob, and a sweep past the grace period removes its parts.
func TestS3KilledUploadIsSwept(t *testing.T) {
	ctx := context.Background()
	s := openS3(t)
	w, _ := s.Create(ctx)
	w.Write(payload(11<<20, 4)) // two parts sent, one buffered
	if got := listed(t, s); len(got) != 0 {
		t.Fatalf("listed during upload: %v", got)
	}
	if n := incomplete(t, s); n != 1 {
		t.Fatalf("%d multipart uploads in progress, want 1", n)
	}
	if err := s.Sweep(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := incomplete(t, s); n != 1 {
		t.Errorf("a sweep within grace removed an upload in progress")
	}
	if err := s.Sweep(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := incomplete(t, s); n != 0 {
		t.Errorf("%d uploads left after the sweep", n)
	}
	var keys []string
	for o := range s.core.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		keys = append(keys, o.Key)
	}
	if len(keys) != 0 {
		t.Errorf("objects left: %v", keys)
	}
}

func incomplete(t *testing.T, s *S3) int {
	n := 0
	for u := range s.core.Client.ListIncompleteUploads(context.Background(), s.bucket, s.prefix, true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		n++
	}
	return n
}

func TestParseS3URL(t *testing.T) {
	tests := []struct {
		in   string
		want S3Config
		err  string
	}{
		{in: "s3://bkt", want: S3Config{Bucket: "bkt"}},
		{in: "s3://bkt/a/b/?endpoint=http://127.0.0.1:7070&region=eu", want: S3Config{Bucket: "bkt", Prefix: "a/b", Endpoint: "http://127.0.0.1:7070", Region: "eu", PathStyle: true}},
		{in: "s3://bkt?endpoint=https://x&lookup=dns", want: S3Config{Bucket: "bkt", Endpoint: "https://x"}},
		{in: "https://bkt", err: "s3://"},
		{in: "s3://ak:sk@bkt", err: "credentials"},
		{in: "s3:///x", err: "no bucket"},
		{in: "s3://b?lookup=x", err: "lookup"},
		{in: "s3://b?secret=x", err: "unknown parameter"},
		{in: "s3://b?access_key_file=/x", err: "go together"},
		{in: "s3://b?access_key_file=/nonexistent&secret_key_file=/nonexistent", err: "credentials"},
	}
	for _, tt := range tests {
		got, err := ParseS3URL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseS3URL(%q) = %v, want error with %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseS3URL(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseS3URL(f *testing.F) {
	f.Add("s3://bkt/p?endpoint=http://h:1")
	f.Add("s3://a:b@c/%zz")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseS3URL(s)
		if err == nil && (c.Bucket == "" || strings.Contains(s, "@") && func() bool { u, _ := url.Parse(s); return u.User != nil }()) {
			t.Errorf("ParseS3URL(%q) accepted %+v", s, c)
		}
	})
}

// Garbage collection looks at a blob's time again just before deleting
// it: one committed again since the listing stays.
func TestS3DeleteIfOlder(t *testing.T) {
	ctx := context.Background()
	s := openS3(t)
	d := put(t, s, []byte("committed again"))
	if ok, err := s.deleteIfOlder(ctx, d, time.Now().Add(-time.Hour)); err != nil || ok {
		t.Errorf("deleteIfOlder(fresh blob) = %v, %v; want kept", ok, err)
	}
	if got := listed(t, s); len(got) != 1 {
		t.Fatalf("a fresh blob was deleted: %v", got)
	}
	if ok, err := s.deleteIfOlder(ctx, d, time.Now().Add(time.Hour)); err != nil || !ok {
		t.Errorf("deleteIfOlder(old blob) = %v, %v; want deleted", ok, err)
	}
	if ok, err := s.deleteIfOlder(ctx, d, time.Now().Add(time.Hour)); err != nil || ok {
		t.Errorf("deleteIfOlder(missing blob) = %v, %v", ok, err)
	}
}
