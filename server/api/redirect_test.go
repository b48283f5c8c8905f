package api

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/server/internal/testbundle"
)

// With BlobsRedirect, an API client's payload download is a redirect to a
// presigned URL of the bucket, which serves the bytes and ranges of them;
// a console session's download still streams through the server.
func TestScaleOutPayloadRedirect(t *testing.T) {
	c := newCluster(t, 2, func(cfg *Config) { cfg.BlobsRedirect = 10 * time.Minute })
	e := c.e
	tfb := e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1, ImageSize: 200 << 10})
	rel := e.publish(tfb)
	r := bytes.NewReader(tfb)
	if _, err := bundle.ReadHeader(r); err != nil {
		t.Fatal(err)
	}
	payload, _ := io.ReadAll(r)
	path := "/api/releases/" + rel.ID + "/payload"
	s3 := scaledDirs[c.key].bucket.URL("")

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(client *http.Client, i int, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", c.insts[i].hs.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	token := map[string]string{"Authorization": "Bearer " + e.tokens["technician"]}

	for i := range c.insts {
		resp, _ := get(noFollow, i, token)
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusTemporaryRedirect || err != nil {
			t.Fatalf("instance %d: payload download with a token: %d, Location %q", i, resp.StatusCode, resp.Header.Get("Location"))
		}
		if !strings.Contains(s3, "://"+loc.Host) || loc.Query().Get("X-Amz-Signature") == "" || loc.Query().Get("X-Amz-Expires") != "600" {
			t.Errorf("instance %d: redirect to %s, want a presigned URL of the bucket at %s valid 600 s", i, loc, s3)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("instance %d: redirect's Cache-Control %q, want no-store", i, cc)
		}

		resp, got := get(http.DefaultClient, i, token)
		if resp.StatusCode != 200 || !bytes.Equal(got, payload) {
			t.Errorf("instance %d: through the redirect: %d, %d bytes, identical %v", i, resp.StatusCode, len(got), bytes.Equal(got, payload))
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="sensor-1.0.0.age"`) {
			t.Errorf("instance %d: the bucket's Content-Disposition %q", i, cd)
		}
		resp, got = get(http.DefaultClient, i, map[string]string{"Authorization": token["Authorization"], "Range": "bytes=1000-1999"})
		if resp.StatusCode != 206 || !bytes.Equal(got, payload[1000:2000]) {
			t.Errorf("instance %d: a range through the redirect: %d, %d bytes", i, resp.StatusCode, len(got))
		}

		// The signature covers the key: the URL fetches this blob only.
		q := loc.Query()
		sig := []byte(q.Get("X-Amz-Signature"))
		sig[0] = map[bool]byte{true: '1', false: '0'}[sig[0] == '0']
		q.Set("X-Amz-Signature", string(sig))
		loc.RawQuery = q.Encode()
		if resp, err := http.Get(loc.String()); err != nil {
			t.Fatal(err)
		} else {
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("a presigned URL with a damaged signature: %d, want 403", resp.StatusCode)
			}
		}
	}

	e.mustJSON("PATCH", "/api/users/technician1", e.tokens["admin"], map[string]string{"password": "technician password 1"}, 200)
	cookie, _ := e.signIn("technician1", "technician password 1")
	resp, got := get(noFollow, 0, map[string]string{"Cookie": cookie.Name + "=" + cookie.Value})
	if resp.StatusCode != 200 || !bytes.Equal(got, payload) {
		t.Errorf("payload download in a console session: %d, %d bytes, want it streamed whole", resp.StatusCode, len(got))
	}
	resp, _ = get(noFollow, 0, map[string]string{"Authorization": "Bearer " + e.tokens["technician"] + "x"})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a bad token: %d, want 401 and no redirect", resp.StatusCode)
	}
}
