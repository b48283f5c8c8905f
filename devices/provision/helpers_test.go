package provision_test

import (
	"context"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/crypto/vault"
	"trustforge/devices/provision"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
)

type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStore) Get(_ context.Context, k string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return v, ok, nil
}

func (s *memStore) Put(_ context.Context, k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = append([]byte(nil), v...)
	return nil
}

func (s *memStore) Delete(_ context.Context, k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	return nil
}

func (s *memStore) List(_ context.Context, p string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.m {
		if strings.HasPrefix(k, p) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

// newCA returns an authority with a root, a "thermo" intermediate and its
// profile, fusing bootKey and encrypting images to each board.
func newCA(t testing.TB, bootKey *keys.PublicKey) (*pki.Authority, pki.Profile) {
	t.Helper()
	ctx := context.Background()
	st := &memStore{m: map[string][]byte{}}
	v, err := vault.Create(ctx, st, "console passphrase", vault.Options{WorkFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := pki.New(st, v, pki.Options{})
	if _, err := a.InitRoot(ctx, pki.RootOptions{Organization: "Acme Devices"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddIntermediate(ctx, pki.IntermediateOptions{Product: "thermo"}); err != nil {
		t.Fatal(err)
	}
	p := pki.Profile{Product: "thermo", EncryptImages: true}
	if bootKey != nil {
		p.BootKeyHash = keyHash(bootKey)
	}
	p, err = a.SaveProfile(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return a, p
}

func keyHash(k *keys.PublicKey) string {
	const digits = "0123456789abcdef"
	h := provision.BootKeyHashOf(k)
	out := make([]byte, 0, 64)
	for _, b := range h {
		out = append(out, digits[b>>4], digits[b&15])
	}
	return string(out)
}

// newSimBoard starts a simulated board and an SMP client on it.
func newSimBoard(t testing.TB, cfg sim.Config) (*sim.Board, *smp.Client) {
	t.Helper()
	b, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	host, dev := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		b.Serve(ctx, dev)
		dev.Close()
		close(done)
	}()
	c := smp.NewClient(smp.FromStream(host), &smp.Options{Timeout: 5 * time.Second})
	t.Cleanup(func() {
		c.Close()
		cancel()
		<-done
		b.Close()
	})
	return b, c
}

// memRegistry is a device registry in memory.
type memRegistry struct {
	mu      sync.Mutex
	devices map[string]*provision.Registered
	fail    error
}

func newRegistry() *memRegistry { return &memRegistry{devices: map[string]*provision.Registered{}} }

func (r *memRegistry) Lookup(_ context.Context, id string) (*provision.Registered, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.devices[id], nil
}

func (r *memRegistry) Register(_ context.Context, rec provision.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if r.devices[rec.DeviceID] != nil {
		return provision.ErrClone
	}
	r.devices[rec.DeviceID] = &provision.Registered{Record: rec, Provisioned: time.Now(), Operator: "line1"}
	return nil
}

// tamper is an smp Doer between the client and the board that can change
// requests and answers, as a faulty or malicious board would.
type tamper struct {
	d      provision.Doer
	before func(r *smp.Request)
	after  func(r smp.Request, resp any) error
}

func (t *tamper) Do(ctx context.Context, r smp.Request, resp any) error {
	if t.before != nil {
		t.before(&r)
	}
	if err := t.d.Do(ctx, r, resp); err != nil {
		return err
	}
	if t.after != nil {
		return t.after(r, resp)
	}
	return nil
}
