package vault

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	xscrypt "golang.org/x/crypto/scrypt"
)

// TestScryptVectors checks scryptKey against RFC 7914's test vectors.
func TestScryptVectors(t *testing.T) {
	tests := []struct {
		password, salt string
		logN, r, p     int
		want           string
	}{
		{"", "", 4, 1, 1, "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"},
		{"password", "NaCl", 10, 8, 16, "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"},
	}
	for _, tt := range tests {
		got, err := scryptKey(context.Background(), []byte(tt.password), []byte(tt.salt), tt.logN, tt.r, tt.p, 64, nil)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("scrypt(%q, %q, 2^%d, %d, %d) = %x, want %s", tt.password, tt.salt, tt.logN, tt.r, tt.p, got, tt.want)
		}
	}
}

// TestScryptAgainstXCrypto compares scryptKey with golang.org/x/crypto's
// scrypt, an independent implementation, on random inputs.
func TestScryptAgainstXCrypto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 40; i++ {
		pw := make([]byte, rng.IntN(40))
		salt := make([]byte, rng.IntN(40))
		for j := range pw {
			pw[j] = byte(rng.Uint32())
		}
		for j := range salt {
			salt[j] = byte(rng.Uint32())
		}
		logN, r, p, n := 1+rng.IntN(8), 1+rng.IntN(9), 1+rng.IntN(3), 1+rng.IntN(100)
		want, err := xscrypt.Key(pw, salt, 1<<logN, r, p, n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := scryptKey(context.Background(), pw, salt, logN, r, p, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("N=2^%d r=%d p=%d: got %x, want %x", logN, r, p, got, want)
		}
	}
}

// TestScryptYields: the derivation calls yield while it runs, and stops
// with yield's error or the context's.
func TestScryptYields(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scrypt at a real cost")
	}
	calls := 0
	yield := func(context.Context) error { calls++; return nil }
	// 2^15 × 1 KiB is about 0.1 s natively: several slices of 25 ms.
	want, _ := xscrypt.Key([]byte("pw"), []byte("salt"), 1<<15, 8, 1, 32)
	got, err := scryptKey(context.Background(), []byte("pw"), []byte("salt"), 15, 8, 1, 32, yield)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %x, %v; want %x", got, err, want)
	}
	if calls == 0 {
		t.Error("yield was never called")
	}
	stop := errors.New("stop")
	if _, err := scryptKey(context.Background(), []byte("pw"), []byte("salt"), 15, 8, 1, 32,
		func(context.Context) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("a failing yield gave %v, want it to stop the derivation", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := scryptKey(ctx, []byte("pw"), []byte("salt"), 15, 8, 1, 32, yield); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context gave %v", err)
	}
}

// TestScryptStanzaInterop: files sealed here open with age, and age's open
// here; a wrong passphrase reads as one.
func TestScryptStanzaInterop(t *testing.T) {
	ctx := context.Background()
	ours, err := sealPassphrase(ctx, "sealed here", "pass phrase", 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := age.NewScryptIdentity("pass phrase")
	r, err := age.Decrypt(bytes.NewReader(ours), id)
	if err != nil {
		t.Fatalf("age cannot open our file: %v", err)
	}
	if b, _ := io.ReadAll(r); string(b) != "sealed here" {
		t.Errorf("age read %q", b)
	}

	rcpt, _ := age.NewScryptRecipient("pass phrase")
	rcpt.SetWorkFactor(5)
	theirs, err := seal([]byte("sealed by age"), rcpt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := openPassphrase(ctx, theirs, "pass phrase", nil)
	if err != nil || string(got) != "sealed by age" {
		t.Fatalf("opening age's file: %q, %v", got, err)
	}
	for _, wrong := range []string{"pass phrasE", "", "pass phrase "} {
		if _, err := openPassphrase(ctx, theirs, wrong, nil); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("passphrase %q: %v, want ErrWrongPassphrase", wrong, err)
		}
	}
}

// TestScryptStanzaRefusals: every malformed scrypt stanza gets a specific
// error, never a key.
func TestScryptStanzaRefusals(t *testing.T) {
	good, err := sealPassphrase(context.Background(), "x", "pass phrase", 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.SplitN(string(good), "\n", 3)[1] // "-> scrypt SALT 4"
	f := strings.Fields(line)
	tests := []struct{ name, from, to string }{
		{"work factor with a leading zero", line, f[0] + " " + f[1] + " " + f[2] + " 04"},
		{"work factor above the limit", line, f[0] + " " + f[1] + " " + f[2] + " 23"},
		{"work factor zero", line, f[0] + " " + f[1] + " " + f[2] + " 0"},
		{"short salt", line, f[0] + " " + f[1] + " " + f[2][:10] + " 4"},
		{"no work factor", line, f[0] + " " + f[1] + " " + f[2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := []byte(strings.Replace(string(good), tt.from, tt.to, 1))
			if _, err := openPassphrase(context.Background(), bad, "pass phrase", nil); err == nil ||
				errors.Is(err, ErrWrongPassphrase) {
				t.Errorf("got %v, want a refusal of the stanza", err)
			}
		})
	}
}

// BenchmarkUnlockSlices reports how long scrypt runs between two yields
// at the vault's default cost: what a page waits at most for its turn
// while the vault unlocks (goal: under 100 ms; make bench runs it as
// WebAssembly). The longest slice also counts the time the process was
// not scheduled at all, so on a loaded machine the median says more.
func BenchmarkUnlockSlices(b *testing.B) {
	for b.Loop() {
		var slices []float64
		last := nowMillis()
		yield := func(context.Context) error {
			now := nowMillis()
			slices = append(slices, now-last)
			last = now
			return nil
		}
		start := nowMillis()
		if _, err := scryptKey(context.Background(), []byte("pw"), []byte("salt"), DefaultWorkFactor, 8, 1, 32, yield); err != nil {
			b.Fatal(err)
		}
		slices = append(slices, nowMillis()-last)
		b.ReportMetric(nowMillis()-start, "ms-total")
		sort.Float64s(slices)
		b.ReportMetric(slices[len(slices)/2], "ms-median-slice")
		b.ReportMetric(slices[len(slices)*95/100], "ms-p95-slice")
		b.ReportMetric(slices[len(slices)-1], "ms-longest-slice")
	}
}

func nowMillis() float64 { return float64(time.Now().UnixNano()) / 1e6 }
