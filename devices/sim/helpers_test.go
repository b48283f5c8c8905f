package sim

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/devices/smp"
)

func readKey(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func privKey(t testing.TB, name string) *keys.PrivateKey {
	t.Helper()
	k, err := keys.ParsePrivateKey(readKey(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pubKey(t testing.TB, name string) *keys.PublicKey {
	t.Helper()
	k, err := keys.ParsePublicKey(readKey(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// imageSpec describes a test image.
type imageSpec struct {
	version string
	key     string // signing key file; empty for hash only
	counter *uint32
	encTo   string // device public key file to encrypt to
	size    int    // payload bytes; zero means 20000
}

func ctr(n uint32) *uint32 { return &n }

func makeImage(t testing.TB, s imageSpec) []byte {
	t.Helper()
	v, err := mcuimg.ParseVersion(s.version)
	if err != nil {
		t.Fatal(err)
	}
	n := s.size
	if n == 0 {
		n = 20000
	}
	rng := rand.New(rand.NewPCG(uint64(n), uint64(v.Major)<<16|uint64(v.Minor)<<8|uint64(v.Revision)))
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	opts := &mcuimg.SignOptions{Version: v, HeaderSize: 0x200, PadHeader: true, Align: 8, SecurityCounter: s.counter}
	if s.key != "" {
		opts.Key = privKey(t, s.key)
	}
	if s.encTo != "" {
		opts.EncryptTo = pubKey(t, s.encTo)
	}
	img, err := mcuimg.Sign(payload, opts)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func imageHash(t testing.TB, img []byte) []byte {
	t.Helper()
	p, err := mcuimg.Parse(img)
	if err != nil {
		t.Fatal(err)
	}
	_, h, ok := p.Hash()
	if !ok {
		t.Fatal("image has no hash")
	}
	return h
}

func newBoard(t testing.TB, cfg Config) *Board {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// connect attaches an in-process host to the board and returns an SMP
// client on it.
func connect(t testing.TB, b *Board, opts *smp.Options) *smp.Client {
	t.Helper()
	host, dev := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		b.Serve(ctx, dev)
		dev.Close()
		close(done)
	}()
	if opts == nil {
		// Generous: a loaded CI machine must not turn a slow answer into a
		// failure; tests of timeouts set their own.
		opts = &smp.Options{Timeout: 10 * time.Second}
	}
	c := smp.NewClient(smp.FromStream(host), opts)
	t.Cleanup(func() {
		c.Close()
		cancel()
		<-done
	})
	return c
}

// waitRunning waits until the board runs (after a reset) and returns it.
func waitRunning(t testing.TB, b *Board, boots int) Running {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r := b.Running(); r.Boots >= boots && b.Powered() {
			return r
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("the board did not boot a %dth time", boots)
	return Running{}
}

func sameHash(a, b []byte) bool { return bytes.Equal(a, b) }
