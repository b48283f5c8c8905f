package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/production"
	"trustforge/internal/apiwire"
	"trustforge/server/internal/testbundle"
)

// concurrentGets runs clients downloads at once, client i from urls[i %
// len(urls)], and returns the aggregate MiB/s.
func concurrentGets(b *testing.B, clients int, urls []string, token string) float64 {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", urls[i%len(urls)], nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				b.Errorf("download: %d, %v", resp.StatusCode, err)
			}
			total.Add(n)
		}()
	}
	wg.Wait()
	return float64(total.Load()) / (1 << 20) / time.Since(start).Seconds()
}

// BenchmarkScaleOutDownloads: 100 concurrent downloads of a 16 MiB bundle
// through two instances on PostgreSQL and S3 (versitygw), through one
// instance on the blob directory, and of the payload straight from
// versitygw; it reports each throughput and the ratios.
func BenchmarkScaleOutDownloads(b *testing.B) {
	c := newCluster(b, 2)
	tfb := c.e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1, ImageSize: 16 << 20})
	rel := c.e.publish(tfb)
	d := openEnvAt(b, b.TempDir(), time.Now()).setup()
	relD := d.publish(tfb)

	scaledMu.Lock()
	bucket := scaledDirs[c.key].bucket
	scaledMu.Unlock()
	mc, err := bucket.Client()
	if err != nil {
		b.Fatal(err)
	}
	key := "blobs/sha256/" + rel.PayloadSHA256[:2] + "/" + rel.PayloadSHA256
	direct, err := mc.PresignedGetObject(context.Background(), bucket.Bucket, key, time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	scaledURLs := []string{c.insts[0].hs.URL + "/api/releases/" + rel.ID + "/bundle", c.insts[1].hs.URL + "/api/releases/" + rel.ID + "/bundle"}
	b.ResetTimer()
	var s3, dir, gw float64
	for range b.N {
		s3 += concurrentGets(b, 100, scaledURLs, c.e.tokens["technician"])
		dir += concurrentGets(b, 100, []string{d.hs.URL + "/api/releases/" + relD.ID + "/bundle"}, d.tokens["technician"])
		gw += concurrentGets(b, 100, []string{direct.String()}, "")
	}
	n := float64(b.N)
	b.ReportMetric(s3/n, "MiB/s-2inst-s3")
	b.ReportMetric(dir/n, "MiB/s-1inst-dir")
	b.ReportMetric(gw/n, "MiB/s-versitygw")
	b.ReportMetric(s3/dir, "s3/dir")
	b.ReportMetric(s3/gw, "s3/versitygw")
}

// BenchmarkScaleOutTickets: stations on three instances sharing one
// PostgreSQL take production tickets as fast as they can; it reports
// tickets per second across the cluster.
func BenchmarkScaleOutTickets(b *testing.B) {
	c := newCluster(b, 3)
	o := newOrder(b, c.e)
	k, _ := keys.NewPrivateKey(c.e.signer.Key)
	signer, _ := k.Signer()
	var pkg apiwire.Package
	decode(b, o.upload(o.build(b, production.MaxCount, []bundle.Recipient{o.station.Recipient()}, signer)), 201, &pkg)
	path := "/api/production/packages/" + pkg.ID + "/tickets"
	const stations = 12
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for st := range stations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				resp, err := c.on(int(i)%3, "POST", path, c.e.tokens["station"],
					jsonBody(b, map[string]string{"device": fmt.Sprintf("%02x%08x", st, i)}), map[string]string{"Content-Type": "application/json"})
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 201 {
					b.Errorf("ticket %d: %d", i, resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tickets/s")
}
