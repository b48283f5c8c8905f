// Package releasebench measures the release server as its users load it: a
// large bundle uploaded and downloaded (throughput and the server's peak
// memory), and many technicians downloading one bundle at once (aggregate
// throughput and latency), against http.FileServer serving the same file.
//
// The server runs as a child process of the benchmark, so its memory is
// its own: peak RSS is read from /proc/PID/status (VmHWM) and reset between
// phases through /proc/PID/clear_refs.
package releasebench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"trustforge/server/internal/testbundle"
)

// Config says what to measure.
type Config struct {
	// Self is the benchmark binary, re-run as the server child.
	Self string
	// Dir holds data directories and bundles. It should be empty.
	Dir string
	// LargeMiB are the sizes of the upload/download phase, in MiB.
	LargeMiB []int
	// ConcurrentMiB is the bundle size of the concurrent phase.
	ConcurrentMiB int
	// Clients is the number of concurrent downloads; Rounds how many each makes.
	Clients, Rounds int
}

// child is a server subprocess.
type child struct {
	cmd *exec.Cmd
	url string
	log *bytes.Buffer
	mu  sync.Mutex
}

var listening = regexp.MustCompile(`listening (http://\S+)`)

func startChild(ctx context.Context, self, mode, dir string) (*child, error) {
	cmd := exec.CommandContext(ctx, self, "child", mode, dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, log: new(bytes.Buffer)}
	s := bufio.NewScanner(out)
	for s.Scan() {
		c.log.WriteString(s.Text() + "\n")
		if m := listening.FindStringSubmatch(s.Text()); m != nil {
			c.url = m[1]
			break
		}
	}
	if c.url == "" {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("releasebench: child did not start:\n%s", c.log)
	}
	go io.Copy(io.Discard, out)
	return c, nil
}

func (c *child) stop() { c.cmd.Process.Kill(); c.cmd.Wait() }

// peakRSS returns the child's peak resident set size in bytes.
func (c *child) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return -1
}

// resetPeak restarts the child's peak RSS count at its current RSS.
func (c *child) resetPeak() {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", c.cmd.Process.Pid), []byte("5"), 0)
}

func (c *child) call(method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.url+path, body)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("releasebench: %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

var enrolSecret = regexp.MustCompile(`/enrol#token=(tfe_[A-Za-z0-9_-]+)`)

// setup enrols an admin and returns engineer and technician tokens for a
// product "bench" signed by signer.
func (c *child) setup(signer testbundle.Signer) (eng, tech string, err error) {
	m := enrolSecret.FindStringSubmatch(c.log.String())
	if m == nil {
		return "", "", fmt.Errorf("releasebench: no enrolment link")
	}
	if err := c.call("POST", "/api/enrol", "", map[string]string{"token": m[1], "name": "root", "password": "bench password"}, nil); err != nil {
		return "", "", err
	}
	// Sign in once to make the admin's token.
	req, _ := http.NewRequest("POST", c.url+"/api/session", strings.NewReader(`{"name":"root","password":"bench password"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", err
	}
	resp.Body.Close()
	var cookie, csrf string
	for _, ck := range resp.Cookies() {
		cookie = ck.Name + "=" + ck.Value
	}
	req, _ = http.NewRequest("GET", c.url+"/api/session", nil)
	req.Header.Set("Cookie", cookie)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return "", "", err
	}
	var sess struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	csrf = sess.CSRF
	req, _ = http.NewRequest("POST", c.url+"/api/tokens", strings.NewReader(`{"name":"bench"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", cookie)
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return "", "", err
	}
	var tk struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&tk)
	resp.Body.Close()
	admin := tk.Token
	steps := []struct {
		path string
		in   any
	}{
		{"/api/users", map[string]string{"name": "eng", "role": "engineer"}},
		{"/api/users", map[string]string{"name": "tech", "role": "technician"}},
		{"/api/products", map[string]any{"name": "bench", "channels": []string{"beta"}}},
		{"/api/products/bench/keys", map[string]string{"public_key": signer.PublicPEM()}},
	}
	for _, s := range steps {
		if err := c.call("POST", s.path, admin, s.in, nil); err != nil {
			return "", "", err
		}
	}
	var e, t struct{ Token string }
	if err := c.call("POST", "/api/users/eng/tokens", admin, map[string]string{"name": "b"}, &e); err != nil {
		return "", "", err
	}
	if err := c.call("POST", "/api/users/tech/tokens", admin, map[string]string{"name": "b"}, &t); err != nil {
		return "", "", err
	}
	return e.Token, t.Token, nil
}

// upload pushes the bundle at path and returns the release ID.
func (c *child) upload(path, token string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, _ := f.Stat()
	req, _ := http.NewRequest("POST", c.url+"/api/releases", f)
	req.ContentLength = st.Size()
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		return "", fmt.Errorf("releasebench: upload: %d %s", resp.StatusCode, b)
	}
	return out.ID, json.Unmarshal(b, &out)
}

// download GETs url and returns the bytes received.
func download(client *http.Client, url, token string) (int64, error) {
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("releasebench: GET %s: %d", url, resp.StatusCode)
	}
	return io.Copy(io.Discard, resp.Body)
}

// concurrent runs clients×rounds downloads and returns aggregate MiB/s and
// per-download latencies.
func concurrent(url, token string, clients, rounds int) (mibs float64, lat []time.Duration, err error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var total int64
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				t0 := time.Now()
				n, err := download(client, url, token)
				d := time.Since(t0)
				mu.Lock()
				total += n
				lat = append(lat, d)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(total) / (1 << 20) / el.Seconds(), lat, firstErr
}

func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	i := int(float64(len(lat)-1) * p)
	return lat[i]
}

// makeBundle writes a bundle of about mib MiB into dir.
func makeBundle(ctx context.Context, signer testbundle.Signer, dir, version string, mib int) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("bench-%s.tfb", version))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := signer.Write(ctx, bw, dir, testbundle.Release{Product: "bench", Channel: "beta", Version: version, ImageSize: int64(mib) << 20}); err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	return path, nil
}
