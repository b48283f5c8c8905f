package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"trustforge/server/internal/testbundle"
	"trustforge/server/store"
)

// snapshot is everything an upload may change: the releases, the audit
// head and the files under the data directory (minus SQLite's journals).
type snapshot struct {
	releases int
	audit    uint64
	files    string
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	ctx := context.Background()
	rs, err := e.srv.store.ListReleases(ctx, store.Filter{WithYank: true})
	if err != nil {
		e.t.Fatal(err)
	}
	h, err := store.VerifyAudit(ctx, e.srv.store)
	if err != nil {
		e.t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(filepath.Join(e.dir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return snapshot{releases: len(rs), audit: h.Seq, files: fmt.Sprint(files)}
}

func TestPublishAndDownload(t *testing.T) {
	e := newEnv(t)
	tfb := e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1})
	rel := e.publish(tfb)
	if rel.Version != "1.0.0" || len(rel.Offers) != 1 || rel.Offers[0].Channel != "beta" || rel.BundleSize != int64(len(tfb)) {
		t.Errorf("published release = %+v", rel)
	}
	if rel.Manifest["product"] != "sensor" {
		t.Errorf("manifest JSON = %v", rel.Manifest)
	}

	for _, role := range []string{"engineer", "technician", "station"} {
		resp, got := e.get("/api/releases/"+rel.ID+"/bundle", role, nil)
		if resp.StatusCode != 200 || !bytes.Equal(got, tfb) {
			t.Errorf("%s: bundle download: status %d, %d bytes equal=%v", role, resp.StatusCode, len(got), bytes.Equal(got, tfb))
		}
	}
	_, payload := e.get("/api/releases/"+rel.ID+"/payload", "station", nil)
	if sum := sha256.Sum256(payload); hex.EncodeToString(sum[:]) != rel.PayloadSHA256 || int64(len(payload)) != rel.PayloadSize {
		t.Errorf("payload download does not match the manifest")
	}
	_, manifest := e.get("/api/releases/"+rel.ID+"/manifest", "station", nil)
	if !bytes.Equal(append(tfb[:14:14], manifest...), tfb[:len(tfb)-len(payload)]) {
		t.Errorf("manifest download is not the bundle's manifest part")
	}
	// The parts make the whole.
	if !bytes.Equal(tfb[len(tfb)-len(payload):], payload) {
		t.Errorf("payload is not the bundle's tail")
	}
}

func TestRangeDownloads(t *testing.T) {
	e := newEnv(t)
	tfb := e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1, ImageSize: 100 << 10})
	rel := e.publish(tfb)
	n := int64(len(tfb))
	prefix := n - rel.PayloadSize
	url := "/api/releases/" + rel.ID + "/bundle"
	etag := `"b-` + rel.ID + `"`
	tests := []struct {
		name       string
		hdr        map[string]string
		wantStatus int
		from, to   int64 // expected body tfb[from:to]
	}{
		{"whole", nil, 200, 0, n},
		{"inside prefix", map[string]string{"Range": "bytes=2-9"}, 206, 2, 10},
		{"across prefix and payload", map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", prefix-5, prefix+5)}, 206, prefix - 5, prefix + 6},
		{"resume to end", map[string]string{"Range": "bytes=5000-"}, 206, 5000, n},
		{"suffix", map[string]string{"Range": "bytes=-100"}, 206, n - 100, n},
		{"end past size", map[string]string{"Range": fmt.Sprintf("bytes=10-%d", n+100)}, 206, 10, n},
		{"multi range served whole", map[string]string{"Range": "bytes=0-1,5-6"}, 200, 0, n},
		{"malformed served whole", map[string]string{"Range": "bytes=x-y"}, 200, 0, n},
		{"if-range match", map[string]string{"Range": "bytes=3-", "If-Range": etag}, 206, 3, n},
		{"if-range stale", map[string]string{"Range": "bytes=3-", "If-Range": `"b-other"`}, 200, 0, n},
		{"unsatisfiable", map[string]string{"Range": fmt.Sprintf("bytes=%d-", n)}, 416, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := e.get(url, "technician", tt.hdr)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == 416 {
				if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes */%d", n) {
					t.Errorf("Content-Range = %q", cr)
				}
				return
			}
			if !bytes.Equal(got, tfb[tt.from:tt.to]) {
				t.Errorf("body is %d bytes, want tfb[%d:%d]", len(got), tt.from, tt.to)
			}
			if tt.wantStatus == 206 {
				want := fmt.Sprintf("bytes %d-%d/%d", tt.from, tt.to-1, n)
				if cr := resp.Header.Get("Content-Range"); cr != want {
					t.Errorf("Content-Range = %q, want %q", cr, want)
				}
			}
		})
	}
}

func TestPublishRefusals(t *testing.T) {
	e := newEnv(t)
	e.mustJSON("POST", "/api/products", e.tokens["admin"], map[string]any{"name": "keyless", "channels": []string{"beta"}}, 201)
	good := e.bundle(testbundle.Release{Version: "2.0.0", Counter: 5})
	e.publish(good)

	next := e.bundle(testbundle.Release{Version: "2.1.0", Counter: 6})
	stranger := testbundle.NewSigner(99)
	tests := []struct {
		name     string
		tfb      []byte
		wantCode string
	}{
		{"same bundle again", good, "exists"},
		{"lower version", e.bundle(testbundle.Release{Version: "1.9.0", Counter: 5}), "version_not_newer"},
		{"equal version, other build", e.bundle(testbundle.Release{Version: "2.0.0+7", Counter: 5}), "version_not_newer"},
		{"counter rollback", e.bundle(testbundle.Release{Version: "2.1.0", Counter: 4}), "counter_rollback"},
		{"counter not raised", e.bundle(testbundle.Release{Version: "2.1.0", Counter: 5}), "counter_rollback"},
		{"unregistered key", e.bundle(testbundle.Release{Version: "3.0.0", Counter: 5}, stranger), "untrusted_key"},
		{"unknown product", e.bundle(testbundle.Release{Product: "toaster", Version: "3.0.0"}), "unknown_product"},
		{"product without keys", e.bundle(testbundle.Release{Product: "keyless", Version: "3.0.0"}), "untrusted_key"},
		{"unknown channel", e.bundle(testbundle.Release{Channel: "nightly", Version: "3.0.0", Counter: 5}), "unknown_channel"},
		{"not a bundle", []byte("hello, server"), "bad_bundle"},
		{"empty", nil, "bad_bundle"},
		{"re-upload truncated", good[:len(good)-1], "exists"},
		{"truncated payload", next[:len(next)-1], "payload_mismatch"},
		{"extended payload", append(bytes.Clone(next), 0), "payload_mismatch"},
		{"altered payload", flipLast(next), "payload_mismatch"},
		{"truncated manifest", next[:40], "bad_bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snapshot()
			resp := e.upload(tt.tfb, "engineer")
			if resp.StatusCode < 400 {
				t.Fatalf("status %d, want refusal", resp.StatusCode)
			}
			if code := errorCode(t, resp); code != tt.wantCode {
				t.Errorf("code %q, want %q", code, tt.wantCode)
			}
			if after := e.snapshot(); after != before {
				t.Errorf("store changed: %+v -> %+v", before, after)
			}
		})
	}
}

// TestEveryByteMatters flips one byte at many positions of a bundle, in
// its header, signed manifest and payload: every change is refused and
// leaves the store as it was.
func TestEveryByteMatters(t *testing.T) {
	e := newEnv(t)
	tfb := e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1, ImageSize: 8 << 10})
	step := 1
	if testing.Short() {
		step = 97
	}
	before := e.snapshot()
	var positions []int
	for i := 0; i < 600 && i < len(tfb); i += step { // header, manifest and the age header
		positions = append(positions, i)
	}
	for i := 600; i < len(tfb); i += 61 * step {
		positions = append(positions, i)
	}
	positions = append(positions, len(tfb)-1)
	for _, i := range positions {
		bad := bytes.Clone(tfb)
		bad[i] ^= 0x01
		resp := e.upload(bad, "engineer")
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("byte %d changed: status %d, want refusal", i, resp.StatusCode)
		}
	}
	if after := e.snapshot(); after != before {
		t.Errorf("store changed: %+v -> %+v", before, after)
	}
	e.publish(tfb) // and the original is still accepted
}

func TestUploadLimit(t *testing.T) {
	e := newEnv(t)
	e.srv.cfg.MaxUpload = 20 << 10
	before := e.snapshot()
	resp := e.upload(e.bundle(testbundle.Release{Version: "1.0.0", ImageSize: 64 << 10}), "engineer")
	if resp.StatusCode != 413 {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	resp.Body.Close()
	if after := e.snapshot(); after != before {
		t.Errorf("store changed: %+v -> %+v", before, after)
	}
}

func TestPromoteYankLatest(t *testing.T) {
	e := newEnv(t)
	r1 := e.publish(e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1}))
	r2 := e.publish(e.bundle(testbundle.Release{Version: "1.1.0", Counter: 2}))

	var latest releaseOutT
	e.mustJSONOut("GET", "/api/products/sensor/channels/beta/latest", e.tokens["station"], nil, 200, &latest)
	if latest.ID != r2.ID {
		t.Errorf("latest beta = %s, want %s", latest.Version, r2.Version)
	}
	e.mustJSON("GET", "/api/products/sensor/channels/stable/latest", e.tokens["station"], nil, 404)

	var promoted releaseOutT
	e.mustJSONOut("POST", "/api/releases/"+r2.ID+"/promote", e.tokens["engineer"], map[string]string{"channel": "stable"}, 200, &promoted)
	if len(promoted.Offers) != 2 {
		t.Errorf("offers after promote = %+v", promoted.Offers)
	}
	// Promoting an older release to stable would roll it back.
	resp := e.doJSON("POST", "/api/releases/"+r1.ID+"/promote", e.tokens["engineer"], map[string]string{"channel": "stable"})
	if code := errorCode(t, resp); code != "version_not_newer" {
		t.Errorf("promote older: code %q, want version_not_newer", code)
	}
	resp = e.doJSON("POST", "/api/releases/"+r2.ID+"/promote", e.tokens["engineer"], map[string]string{"channel": "nightly"})
	if code := errorCode(t, resp); code != "unknown_channel" {
		t.Errorf("promote to unknown channel: code %q", code)
	}

	e.mustJSON("POST", "/api/releases/"+r2.ID+"/yank", e.tokens["engineer"], map[string]string{"reason": "bricks rev A boards"}, 200)
	e.mustJSON("POST", "/api/releases/"+r2.ID+"/yank", e.tokens["engineer"], map[string]string{"reason": "again"}, 409)
	e.mustJSONOut("GET", "/api/products/sensor/channels/beta/latest", e.tokens["station"], nil, 200, &latest)
	if latest.ID != r1.ID {
		t.Errorf("latest beta after yank = %s, want %s", latest.Version, r1.Version)
	}
	resp, body := e.get("/api/releases/"+r2.ID+"/payload", "station", nil)
	if resp.StatusCode != 410 || !hasCode(body, "yanked") {
		t.Errorf("download of yanked release: %d %s", resp.StatusCode, body)
	}
	var list struct{ Releases []releaseOutT }
	e.mustJSONOut("GET", "/api/releases?product=sensor", e.tokens["technician"], nil, 200, &list)
	if len(list.Releases) != 1 || list.Releases[0].ID != r1.ID {
		t.Errorf("listed %d releases, want only %s", len(list.Releases), r1.Version)
	}
	e.mustJSONOut("GET", "/api/releases?product=sensor&yanked=true", e.tokens["technician"], nil, 200, &list)
	yanked := 0
	for _, r := range list.Releases {
		if r.Yanked != nil && r.ID == r2.ID && r.Yanked.Reason == "bricks rev A boards" {
			yanked++
		}
	}
	if len(list.Releases) != 2 || yanked != 1 {
		t.Errorf("listed with yanked = %+v", list.Releases)
	}
	// A yanked version is never reused: 1.1.0 stays the channel's high-water mark.
	resp = e.upload(e.bundle(testbundle.Release{Version: "1.0.5", Counter: 1}), "engineer")
	if code := errorCode(t, resp); code != "version_not_newer" {
		t.Errorf("upload below yanked version: code %q", code)
	}
	e.mustJSONOut("GET", "/api/releases?channel=stable&version=1.1.0&yanked=true&component=0", e.tokens["admin"], nil, 200, &list)
	if len(list.Releases) != 1 {
		t.Errorf("filter by channel and version: %d releases", len(list.Releases))
	}
}

// TestNoPlaintextUnderData publishes a release and searches every file
// under the data directory for the image's plaintext and for the signing
// key's private half.
func TestNoPlaintextUnderData(t *testing.T) {
	e := newEnv(t)
	e.publish(e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1, ImageSize: 256 << 10}))
	// A private key pasted by mistake is refused and not kept.
	resp := e.doJSON("POST", "/api/products/sensor/keys", e.tokens["admin"], map[string]string{"public_key": e.signer.PrivatePEM()})
	if code := errorCode(t, resp); code != "private_key" {
		t.Errorf("registering a private key: code %q, want private_key", code)
	}
	e.srv.Close()
	e.hs.Close()
	priv := e.signer.PrivatePEM()
	needles := [][]byte{[]byte(testbundle.Marker), []byte(priv[40:80]), e.signer.Key.(interface{ Seed() []byte }).Seed()}
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("%s holds secret material %.20q", p, n)
			}
		}
		return nil
	})
}

// TestConcurrentUploads races uploads of several versions to one channel:
// every one is either published or refused as not newer, and the channel's
// head ends at the highest version published.
func TestConcurrentUploads(t *testing.T) {
	e := newEnv(t)
	var tfbs [][]byte
	for i := 0; i < 6; i++ {
		tfbs = append(tfbs, e.bundle(testbundle.Release{Version: fmt.Sprintf("1.%d.0", i), Counter: uint32(i + 1)}))
	}
	codes := make(chan string, len(tfbs))
	for _, b := range tfbs {
		go func() {
			resp := e.upload(b, "engineer")
			if resp.StatusCode == 201 {
				resp.Body.Close()
				codes <- "ok"
				return
			}
			codes <- errorCode(t, resp)
		}()
	}
	published := 0
	for range tfbs {
		switch c := <-codes; c {
		case "ok":
			published++
		case "version_not_newer":
		default:
			t.Errorf("upload refused with %q", c)
		}
	}
	var list struct{ Releases []releaseOutT }
	e.mustJSONOut("GET", "/api/releases", e.tokens["engineer"], nil, 200, &list)
	if len(list.Releases) != published || published == 0 {
		t.Errorf("%d releases listed, %d published", len(list.Releases), published)
	}
	h, _ := e.srv.store.ChannelHead(context.Background(), "sensor", 0, "beta")
	max := ""
	for _, r := range list.Releases {
		if r.Version > max {
			max = r.Version
		}
	}
	if h.Version != max {
		t.Errorf("head %s, highest published %s", h.Version, max)
	}
}

// flipLast returns b with its last byte changed.
func flipLast(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-1] ^= 1
	return b
}
