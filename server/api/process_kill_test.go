package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/internal/apiwire"
	"trustforge/server/internal/testbundle"
)

// SIGKILL an instance in the middle of a large upload to S3: no instance
// lists the release, garbage collection leaves no orphan, staging object
// or multipart upload, and the upload can be repeated.
func TestProcessKilledDuringLargeUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs trustforge processes")
	}
	c := newCluster(t, 1)
	e := c.e
	p1, p2 := c.startProc(t), c.startProc(t)
	blobsBefore, _, _ := c.bucketState(t)

	tfb := e.bundle(testbundle.Release{Version: "3.0.0", Counter: 1, ImageSize: 48 << 20})
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		resp, err := p1.do("POST", "/api/releases", e.tokens["engineer"], pr, map[string]string{"Content-Type": "application/octet-stream", "Content-Length": strconv.Itoa(len(tfb))})
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			err = fmt.Errorf("upload answered %d %s before the kill", resp.StatusCode, b)
		}
		done <- err
	}()
	go pw.Write(tfb[:40<<20]) // most of it; the rest never comes
	// Kill once the server is streaming parts to S3.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, _, uploads := c.bucketState(t); uploads > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no multipart upload began")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p1.kill()
	pw.CloseWithError(io.ErrClosedPipe)
	if err := <-done; err == nil {
		t.Fatal("the upload to the killed instance succeeded")
	}

	for _, where := range []func(string) ([]byte, int){
		func(path string) ([]byte, int) { resp, b := e.get(path, "technician", nil); return b, resp.StatusCode },
		func(path string) ([]byte, int) {
			resp, err := p2.do("GET", path, e.tokens["technician"], nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return b, resp.StatusCode
		},
	} {
		b, code := where("/api/releases?product=sensor")
		if code != 200 || bytes.Contains(b, []byte(`"3.0.0"`)) {
			t.Errorf("release list after the kill: %d %s", code, b)
		}
	}
	if blobs, _, _ := c.bucketState(t); !slices.Equal(blobs, blobsBefore) {
		t.Errorf("blobs listed after the kill: %v, before: %v", blobs, blobsBefore)
	}

	// Garbage collection once the grace period has passed.
	in := c.insts[0].srv
	if _, err := CollectGarbage(context.Background(), in.store, in.blobs, true, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	blobs, other, uploads := c.bucketState(t)
	if !slices.Equal(blobs, blobsBefore) || len(other) != 0 || uploads != 0 {
		t.Errorf("after garbage collection: blobs %v (before %v), other objects %v, %d multipart uploads", blobs, blobsBefore, other, uploads)
	}

	// The same upload again, on the surviving instance.
	resp, err := p2.do("POST", "/api/releases", e.tokens["engineer"], bytes.NewReader(tfb), map[string]string{"Content-Type": "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	var rel releaseOutT
	decode(t, resp, 201, &rel)
	_, got := e.get("/api/releases/"+rel.ID+"/bundle", "technician", nil)
	if !bytes.Equal(got, tfb) {
		t.Errorf("the repeated upload downloads %d bytes, not the %d uploaded", len(got), len(tfb))
	}
	if blobs, _, _ := c.bucketState(t); len(blobs) != len(blobsBefore)+1 {
		t.Errorf("blobs after the repeated upload: %v", blobs)
	}
	verifyChain(t, c)
}

// Four stations on three trustforge processes race for a package of 50
// tickets while one process is SIGKILLed: never more than 50 are issued,
// every one distinct and audited, and the count is reached exactly.
func TestProcessTicketRaceWithSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs trustforge processes")
	}
	c := newCluster(t, 1)
	e := c.e
	o := newOrder(t, e)
	engineer, _ := keys.NewPrivateKey(e.signer.Key)
	signer, _ := engineer.Signer()
	var pkg apiwire.Package
	decode(t, o.upload(o.build(t, 50, []bundle.Recipient{o.station.Recipient()}, signer)), 201, &pkg)
	path := "/api/production/packages/" + pkg.ID + "/tickets"
	procs := []*proc{c.startProc(t), c.startProc(t), c.startProc(t)}
	var killed atomic.Bool

	var mu sync.Mutex
	ids := map[string]bool{}
	refused := 0
	var requests atomic.Int64
	var wg sync.WaitGroup
	for st := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 1000; k++ {
				if requests.Add(1) == 20 {
					procs[2].kill()
					killed.Store(true)
				}
				i := (st + k) % 3
				if i == 2 && killed.Load() {
					i = st % 2
				}
				resp, err := procs[i].do("POST", path, e.tokens["station"],
					jsonBody(t, map[string]any{"device": fmt.Sprintf("%02x%04x", st, k)}), map[string]string{"Content-Type": "application/json"})
				if err != nil {
					continue // cut off by the kill: the station asks again elsewhere
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == 201:
					var out ticketsOut
					if err := jsonUnmarshal(b, &out); err != nil || len(out.Tickets) != 1 {
						t.Errorf("ticket answer %s: %v", b, err)
						return
					}
					mu.Lock()
					if ids[out.Tickets[0].ID] {
						t.Errorf("ticket %s issued twice", out.Tickets[0].ID)
					}
					ids[out.Tickets[0].ID] = true
					mu.Unlock()
				case hasCode(b, "count_reached"):
					mu.Lock()
					refused++
					mu.Unlock()
					return
				default:
					t.Errorf("ticket request: %d %s", resp.StatusCode, b)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := c.insts[0].srv.Store()
	stored, err := st.ListTickets(context.Background(), pkg.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A ticket the killed process committed but never delivered is still
	// counted: the count holds, the station did not get it.
	if len(stored) != 50 || refused != 4 || len(ids) > 50 {
		t.Errorf("%d tickets stored (want 50), %d delivered, %d stations refused (want 4)", len(stored), len(ids), refused)
	}
	for i, tk := range stored {
		if tk.Seq != i+1 {
			t.Errorf("ticket %d has sequence %d", i, tk.Seq)
		}
	}
	if n, _ := st.CountAudit(context.Background(), "production.ticket", "", ""); n != 50 {
		t.Errorf("%d production.ticket audit entries, want 50", n)
	}
	verifyChain(t, c)
}
