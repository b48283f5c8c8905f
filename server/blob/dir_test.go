package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func testRoundTrip(t *testing.T, open opener) {
	ctx := context.Background()
	d := open(t)
	data := bytes.Repeat([]byte("ciphertext "), 1000)
	w, err := d.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.Write(data[:100])
	w.Write(data[100:])
	gotSum, gotN := w.Sum()
	dg, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := Digest(sha256.Sum256(data)); dg != want || gotSum != want || gotN != int64(len(data)) {
		t.Errorf("digest = %s, Sum = %s %d; want %s %d", dg, gotSum, gotN, want, len(data))
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit = %v", err)
	}

	o, err := d.Open(ctx, dg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Size() != int64(len(data)) {
		t.Errorf("Size = %d, want %d", o.Size(), len(data))
	}
	o.Seek(5000, io.SeekStart)
	got, _ := io.ReadAll(o)
	if !bytes.Equal(got, data[5000:]) {
		t.Errorf("read after seek differs")
	}

	var walked []Digest
	d.Walk(ctx, func(x Digest) error { walked = append(walked, x); return nil })
	if len(walked) != 1 || walked[0] != dg {
		t.Errorf("Walk = %v, want [%s]", walked, dg)
	}
	if err := d.Delete(ctx, dg); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, dg); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after Delete = %v, want ErrNotFound", err)
	}
}

func TestDirAbortLeavesNothing(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, _ := OpenDir(root)
	w, _ := d.Create(ctx)
	w.Write([]byte("half an upload"))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, root)
}

func TestOpenDirRemovesUnfinished(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, _ := OpenDir(root)
	w, _ := d.Create(ctx)
	w.Write([]byte("the server died here"))
	// No Commit, no Abort: as after SIGKILL.
	if _, err := OpenDir(root); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, root)
}

func assertEmpty(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			t.Errorf("file left behind: %s", p)
		}
		return nil
	})
}

func TestParseDigest(t *testing.T) {
	tests := []struct {
		in   string
		fail bool
	}{
		{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false},
		{"e3b0", true},
		{"zz" + "b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true},
	}
	for _, tt := range tests {
		d, err := ParseDigest(tt.in)
		if (err != nil) != tt.fail {
			t.Errorf("ParseDigest(%q) err = %v, want fail=%v", tt.in, err, tt.fail)
		}
		if err == nil && d.String() != tt.in {
			t.Errorf("round trip = %s", d)
		}
	}
}
