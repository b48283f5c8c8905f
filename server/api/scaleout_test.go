package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/internal/apiwire"
	"trustforge/server/internal/testbundle"
	"trustforge/server/store"
)

// cluster is several server instances on one PostgreSQL database and one
// S3 bucket, behind a test load balancer that sends each request to the
// next instance in turn. The env's helpers go through the balancer.
type cluster struct {
	e     *env
	key   string // the data directory standing for the shared back ends
	insts []*instance
	next  atomic.Uint64
}

type instance struct {
	srv  *Server
	hs   *httptest.Server
	down atomic.Bool
}

func newCluster(t testing.TB, n int, opts ...func(*Config)) *cluster {
	t.Helper()
	c := &cluster{key: t.TempDir()}
	// The real time: trustforge processes joining the cluster use it.
	e := &env{t: t, dir: c.key, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, log: new(bytes.Buffer),
		tokens: map[string]string{}, signer: testbundle.NewSigner(1)}
	c.e = e
	for i := range n {
		cfg := Config{DataDir: t.TempDir(), BaseURL: "http://console.test", Now: e.clock.now, Log: e.log,
			MaxUpload: 64 << 20, argon2: &cheapArgon}
		useScaled(t, c.key, &cfg)
		for _, o := range opts {
			o(&cfg)
		}
		srv, err := Open(context.Background(), cfg)
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		in := &instance{srv: srv, hs: httptest.NewServer(srv)}
		t.Cleanup(func() { in.hs.Close(); srv.Close() })
		c.insts = append(c.insts, in)
	}
	e.hs = httptest.NewServer(http.HandlerFunc(c.balance))
	t.Cleanup(e.hs.Close)
	e.setup()
	return c
}

// balance passes a request to the next instance that is up.
func (c *cluster) balance(w http.ResponseWriter, r *http.Request) {
	for range len(c.insts) {
		in := c.insts[c.next.Add(1)%uint64(len(c.insts))]
		if in.down.Load() {
			continue
		}
		u, _ := url.Parse(in.hs.URL)
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
		return
	}
	http.Error(w, "no instance up", http.StatusBadGateway)
}

// on sends a request to instance i directly.
func (c *cluster) on(i int, method, path, token string, body io.Reader, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequest(method, c.insts[i].hs.URL+path, body)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return http.DefaultClient.Do(req)
}

// kill takes instance i down at once: the balancer skips it, its open
// connections are cut and its store handles closed.
func (c *cluster) kill(i int) {
	in := c.insts[i]
	in.down.Store(true)
	in.hs.CloseClientConnections()
	in.hs.Close()
	in.srv.Close()
}

func verifyChain(t *testing.T, c *cluster) uint64 {
	t.Helper()
	head, err := store.VerifyAudit(context.Background(), c.insts[0].srv.Store())
	if err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	return head.Seq
}

// Publish on one instance, download from every other; a session made on
// one is valid on all; sign-in limits hold across them; one audit chain.
func TestScaleOutInstancesShareState(t *testing.T) {
	c := newCluster(t, 3)
	e := c.e
	tfb := e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1, ImageSize: 200 << 10})
	rel := e.publish(tfb)
	for i := range c.insts {
		resp, err := c.on(i, "GET", "/api/releases/"+rel.ID+"/bundle", e.tokens["technician"], nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, tfb) {
			t.Errorf("instance %d: download %d, %d bytes, identical=%v", i, resp.StatusCode, len(got), bytes.Equal(got, tfb))
		}
		resp, err = c.on(i, "GET", "/api/releases/"+rel.ID+"/bundle", e.tokens["technician"], nil, map[string]string{"Range": "bytes=100-199"})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 206 || !bytes.Equal(got, tfb[100:200]) {
			t.Errorf("instance %d: range download %d, %d bytes", i, resp.StatusCode, len(got))
		}
	}

	cookie, csrf := e.signIn("root", "root password 1")
	for i := range c.insts {
		resp, err := c.on(i, "GET", "/api/session", "", nil, map[string]string{"Cookie": cookie.Name + "=" + cookie.Value})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("instance %d: session made elsewhere: %d", i, resp.StatusCode)
		}
	}
	// A state change with the session's CSRF token, on each instance.
	for i := range c.insts {
		resp, err := c.on(i, "POST", "/api/tokens", "", jsonBody(t, map[string]string{"name": fmt.Sprintf("t%d", i)}),
			map[string]string{"Cookie": cookie.Name + "=" + cookie.Value, CSRFHeader: csrf, "Content-Type": "application/json"})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Errorf("instance %d: POST with the session's CSRF token: %d", i, resp.StatusCode)
		}
	}

	// Wrong passwords spread over the instances: the per-user limit
	// (5 attempts) is one limit, not one per instance.
	limited := 0
	for range 9 {
		resp := e.doJSON("POST", "/api/session", "", map[string]string{"name": "engineer1", "password": "wrong password"})
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
		}
		resp.Body.Close()
	}
	if limited != 4 {
		t.Errorf("%d of 9 wrong sign-ins over 3 instances were rate limited, want 4 (the limit is shared)", limited)
	}

	// The ticket key is one key, whichever instance answers.
	var pems [][]byte
	for i := range c.insts {
		resp, err := c.on(i, "GET", "/api/production/ticket-key", "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if _, err := keys.ParsePublicKey(b); err != nil {
			t.Fatalf("instance %d: ticket key: %v", i, err)
		}
		pems = append(pems, b)
	}
	if !bytes.Equal(pems[0], pems[1]) || !bytes.Equal(pems[1], pems[2]) {
		t.Error("instances answer with different ticket keys")
	}
	if seq := verifyChain(t, c); seq < 10 {
		t.Errorf("audit head %d: changes on every instance should be in the one chain", seq)
	}
}

// Four stations on three instances race for a package of 50 tickets:
// exactly 50 are issued, all distinct and audited; later requests are
// refused count_reached. Then again with one instance taken down in the
// middle of the race.
func TestScaleOutTicketRace(t *testing.T) {
	for _, killOne := range []bool{false, true} {
		t.Run(map[bool]string{false: "all up", true: "one killed"}[killOne], func(t *testing.T) {
			c := newCluster(t, 3)
			e := c.e
			o := newOrder(t, e)
			engineer, _ := keys.NewPrivateKey(e.signer.Key)
			signer, _ := engineer.Signer()
			var pkg apiwire.Package
			decode(t, o.upload(o.build(t, 50, []bundle.Recipient{o.station.Recipient()}, signer)), 201, &pkg)
			path := "/api/production/packages/" + pkg.ID + "/tickets"

			var mu sync.Mutex
			ids := map[string]bool{}
			seqs := map[int]bool{}
			refused, again := 0, 0
			var requests, lost atomic.Int64
			var wg sync.WaitGroup
			for st := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Board k of this station; a station whose answer
					// was lost asks again for the same board, as an
					// operator retrying it does.
					for k, try := 0, 0; ; try++ {
						n := requests.Add(1)
						if killOne && n == 25 {
							c.kill(2)
						}
						i := (st + try) % 3
						if c.insts[i].down.Load() {
							i = (i + 1) % 3
						}
						device := fmt.Sprintf("%02x%04x", st, k)
						resp, err := c.on(i, "POST", path, e.tokens["station"],
							jsonBody(t, map[string]any{"device": device}), map[string]string{"Content-Type": "application/json"})
						if err != nil {
							lost.Add(1)
							continue // the instance went down under the request; ask another
						}
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						switch {
						case resp.StatusCode == 201 || resp.StatusCode == 200:
							var out ticketsOut
							if err := jsonUnmarshal(b, &out); err != nil || len(out.Tickets) != 1 {
								t.Errorf("ticket answer %s: %v", b, err)
								return
							}
							mu.Lock()
							tk := out.Tickets[0]
							if ids[tk.ID] || seqs[tk.Seq] {
								t.Errorf("ticket %s (seq %d) issued twice", tk.ID, tk.Seq)
							}
							if tk.Device != device {
								t.Errorf("ticket %s for device %s, asked for %s", tk.ID, tk.Device, device)
							}
							if resp.StatusCode == 200 {
								again++
							}
							ids[tk.ID], seqs[tk.Seq] = true, true
							mu.Unlock()
							k++
						case hasCode(b, "count_reached"):
							mu.Lock()
							refused++
							mu.Unlock()
							return
						case resp.StatusCode >= 500 && killOne:
							lost.Add(1)
							continue // cut off by the kill
						default:
							t.Errorf("ticket request: %d %s", resp.StatusCode, b)
							return
						}
					}
				}()
			}
			wg.Wait()
			t.Logf("%d requests, %d answers lost, %d tickets handed out again", requests.Load(), lost.Load(), again)
			if len(ids) != 50 || refused != 4 {
				t.Errorf("%d tickets issued (want 50), %d stations refused count_reached (want 4)", len(ids), refused)
			}
			if !killOne && (lost.Load() != 0 || again != 0) {
				t.Errorf("with every instance up, %d answers lost and %d tickets handed out again", lost.Load(), again)
			}
			for s := 1; s <= 50; s++ {
				if !seqs[s] {
					t.Errorf("no ticket with sequence %d", s)
				}
			}
			st := c.insts[0].srv.Store()
			stored, err := st.ListTickets(context.Background(), pkg.ID)
			if err != nil || len(stored) != 50 {
				t.Errorf("%d tickets stored (%v), want 50", len(stored), err)
			}
			if n, _ := st.CountAudit(context.Background(), "production.ticket", "", ""); n != 50 {
				t.Errorf("%d production.ticket audit entries, want 50", n)
			}
			verifyChain(t, c)
		})
	}
}

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New(string(b))
	}
	return nil
}

// Instances starting on an empty shared database issue one enrolment
// link between them; a restart keeps it live, and it works once.
func TestScaleOutEnrolmentOnce(t *testing.T) {
	key := t.TempDir()
	var logs []*bytes.Buffer
	var servers []*httptest.Server
	for range 3 {
		log := new(bytes.Buffer)
		cfg := Config{DataDir: t.TempDir(), BaseURL: "http://console.test", Log: log, argon2: &cheapArgon}
		useScaled(t, key, &cfg)
		srv, err := Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		t.Cleanup(func() { hs.Close(); srv.Close() })
		logs, servers = append(logs, log), append(servers, hs)
	}
	var links []string
	for _, l := range logs {
		if m := enrolLink.FindStringSubmatch(l.String()); m != nil {
			links = append(links, m[1])
		} else if !bytes.Contains(l.Bytes(), []byte("another instance printed the enrolment link")) {
			t.Errorf("an instance printed neither the link nor that another did:\n%s", l)
		}
	}
	if len(links) != 1 {
		t.Fatalf("%d enrolment links printed by 3 instances, want 1", len(links))
	}
	enrol := func(hs *httptest.Server, name string) int {
		resp, err := http.Post(hs.URL+"/api/enrol", "application/json",
			jsonBody(t, map[string]string{"token": links[0], "name": name, "password": "root password 1"}))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := enrol(servers[2], "root"); code != 201 {
		t.Errorf("enrol with the one link on another instance: %d", code)
	}
	if code := enrol(servers[1], "root2"); code != http.StatusForbidden {
		t.Errorf("second use of the link: %d, want 403", code)
	}
}
