package releasebench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"trustforge/server/internal/testbundle"
)

// Run runs every phase and writes a report to w.
func Run(ctx context.Context, cfg Config, w io.Writer) error {
	signer := testbundle.NewSigner(42)
	data := filepath.Join(cfg.Dir, "data")
	srv, err := startChild(ctx, cfg.Self, "api", data)
	if err != nil {
		return err
	}
	defer srv.stop()
	eng, tech, err := srv.setup(signer)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "release server benchmark (server in a child process; RSS = its VmHWM during the phase)\n\n")
	fmt.Fprintf(w, "%-28s %10s %12s %14s\n", "phase", "size MiB", "MiB/s", "peak RSS MiB")
	idle := srv.peakRSS()
	for i, mib := range cfg.LargeMiB {
		path, err := makeBundle(ctx, signer, cfg.Dir, fmt.Sprintf("1.%d.0", i), mib)
		if err != nil {
			return err
		}
		st, _ := os.Stat(path)
		size := float64(st.Size()) / (1 << 20)

		srv.resetPeak()
		t0 := time.Now()
		id, err := srv.upload(path, eng)
		if err != nil {
			return err
		}
		up := time.Since(t0)
		fmt.Fprintf(w, "%-28s %10.1f %12.1f %14.1f\n", "upload", size, size/up.Seconds(), float64(srv.peakRSS())/(1<<20))

		srv.resetPeak()
		t0 = time.Now()
		if _, err := download(http.DefaultClient, srv.url+"/api/releases/"+id+"/bundle", tech); err != nil {
			return err
		}
		down := time.Since(t0)
		fmt.Fprintf(w, "%-28s %10.1f %12.1f %14.1f\n", "download", size, size/down.Seconds(), float64(srv.peakRSS())/(1<<20))
		os.Remove(path)
	}
	fmt.Fprintf(w, "(server RSS after start-up: %.1f MiB)\n\n", float64(idle)/(1<<20))

	// Concurrent downloads: the API against http.FileServer on the same bytes.
	path, err := makeBundle(ctx, signer, cfg.Dir, "9.0.0", cfg.ConcurrentMiB)
	if err != nil {
		return err
	}
	id, err := srv.upload(path, eng)
	if err != nil {
		return err
	}
	files := filepath.Join(cfg.Dir, "files")
	os.MkdirAll(files, 0o755)
	if err := os.Rename(path, filepath.Join(files, "bundle.tfb")); err != nil {
		return err
	}
	fs, err := startChild(ctx, cfg.Self, "files", files)
	if err != nil {
		return err
	}
	defer fs.stop()

	fmt.Fprintf(w, "%d concurrent downloads × %d rounds of a %d MiB bundle\n", cfg.Clients, cfg.Rounds, cfg.ConcurrentMiB)
	fmt.Fprintf(w, "%-28s %12s %10s %10s %14s\n", "server", "MiB/s", "p50", "p99", "peak RSS MiB")
	var apiRate, fileRate float64
	for _, run := range []struct {
		name, url, token string
		c                *child
		rate             *float64
	}{
		{"http.FileServer", fs.url + "/bundle.tfb", "", fs, &fileRate},
		{"trustforge API", srv.url + "/api/releases/" + id + "/bundle", tech, srv, &apiRate},
	} {
		run.c.resetPeak()
		rate, lat, err := concurrent(run.url, run.token, cfg.Clients, cfg.Rounds)
		if err != nil {
			return err
		}
		*run.rate = rate
		fmt.Fprintf(w, "%-28s %12.1f %10s %10s %14.1f\n", run.name, rate,
			percentile(lat, 0.5).Round(time.Millisecond), percentile(lat, 0.99).Round(time.Millisecond), float64(run.c.peakRSS())/(1<<20))
	}
	fmt.Fprintf(w, "API throughput is %.0f%% of http.FileServer's (goal: at least 80%%)\n", 100*apiRate/fileRate)
	return nil
}
