//go:build js && wasm

package webcrypto

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"testing"
	"testing/cryptotest"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/engine"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/internal/browser"
)

// webCrypto returns the WebCrypto engine, failing the test where there is
// none: these tests must compare two engines, never Go with itself.
func webCrypto(t testing.TB) engine.Engine {
	t.Helper()
	e := New()
	if _, ok := e.(subtle); !ok {
		t.Fatal("no WebCrypto here: run under Node.js ≥ 19 or in Chromium")
	}
	return e
}

func detRand(seed uint64) *mathrand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	return mathrand.NewChaCha8(s)
}

func TestSHA256MatchesGo(t *testing.T) {
	e := webCrypto(t)
	rnd := detRand(1)
	for _, size := range []int{0, 1, 63, 64, minDigest - 1, minDigest, minDigest + 1, 1<<20 + 3, 16 << 20} {
		data := make([]byte, size)
		rnd.Read(data)
		want := sha256.Sum256(data)
		h := e.NewSHA256()
		// Uneven writes, as streams write.
		for rest, step := data, 1; len(rest) > 0; step = step*7 + 3 {
			n := min(step, len(rest))
			h.Write(rest[:n])
			rest = rest[n:]
		}
		if got := h.Sum([]byte("prefix")); !bytes.Equal(got, append([]byte("prefix"), want[:]...)) {
			t.Errorf("%d bytes: SHA-256 %x, want %x", size, got[6:], want)
		}
		h.Reset()
		h.Write(data)
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Errorf("%d bytes after Reset: SHA-256 %x, want %x", size, got, want)
		}
	}
}

func TestCTRMatchesGo(t *testing.T) {
	e := webCrypto(t)
	rnd := detRand(2)
	ivs := map[string][]byte{
		"zero":          make([]byte, 16),
		"random":        make([]byte, 16),
		"128-bit wrap":  bytes.Repeat([]byte{0xff}, 16),
		"64-bit carry":  append(make([]byte, 8), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0),
		"byte boundary": append(make([]byte, 15), 0xfe),
	}
	rnd.Read(ivs["random"])
	// Calls of sizes that leave partial blocks between WebCrypto calls,
	// and calls below and above the WebCrypto threshold.
	steps := []int{5, minCTR, 11, 70000, 16, 3, 100000, minCTR - 1, 1 << 20, 1}
	total := 0
	for _, s := range steps {
		total += s
	}
	for _, keyLen := range []int{16, 24, 32} {
		for name, iv := range ivs {
			t.Run(fmt.Sprintf("AES-%d/%s", keyLen*8, name), func(t *testing.T) {
				key := make([]byte, keyLen)
				rnd.Read(key)
				src := make([]byte, total)
				rnd.Read(src)
				block, _ := aes.NewCipher(key)
				want := make([]byte, total)
				cipher.NewCTR(block, iv).XORKeyStream(want, src)

				s, err := e.NewCTR(key, iv)
				if err != nil {
					t.Fatal(err)
				}
				// Chromium's WebCrypto has no AES-192 (MCUboot uses 128 and
				// 256): Go serves it.
				webKey := s.(*ctr).key != nil
				if !webKey && keyLen != 24 {
					t.Fatal("WebCrypto did not import the key: only Go would be compared")
				}
				got := make([]byte, total)
				off := 0
				for _, n := range steps {
					s.XORKeyStream(got[off:off+n], src[off:off+n])
					off += n
				}
				if webKey && s.(*ctr).key == nil {
					t.Error("WebCrypto failed during the stream and Go took over")
				}
				if i := firstDiff(got, want); i >= 0 {
					t.Fatalf("differs from Go's AES-CTR from byte %d", i)
				}
				// In place, as mcuimg may call it.
				s, _ = e.NewCTR(key, iv)
				inPlace := bytes.Clone(src)
				s.XORKeyStream(inPlace, inPlace)
				if i := firstDiff(inPlace, want); i >= 0 {
					t.Fatalf("in place: differs from Go's AES-CTR from byte %d", i)
				}
			})
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// TestImagesMatchGo: MCUboot images signed and encrypted with WebCrypto are
// byte for byte the images Go makes from the same inputs and randomness.
func TestImagesMatchGo(t *testing.T) {
	e := webCrypto(t)
	for _, alg := range []keys.Algorithm{keys.Ed25519, keys.ECDSAP256} {
		for _, enc := range []keys.Algorithm{"", keys.X25519, keys.ECDSAP256} {
			for _, keyLen := range []int{128, 256} {
				t.Run(fmt.Sprintf("%s/%s/%d", alg, enc, keyLen), func(t *testing.T) {
					key, err := keys.Generate(detRand(3), alg)
					if err != nil {
						t.Fatal(err)
					}
					payload := make([]byte, 3<<20+5)
					detRand(4).Read(payload)
					opts := mcuimg.SignOptions{Key: key, PadHeader: true, HeaderSize: 0x200, Version: mcuimg.Version{Major: 1, Minor: 2}}
					if enc != "" {
						dev, err := keys.Generate(detRand(5), enc)
						if err != nil {
							t.Fatal(err)
						}
						opts.EncryptTo, opts.EncryptKeyLen = dev.Public(), keyLen
					} else if keyLen == 256 {
						t.Skip("no key length without encryption")
					}
					sign := func(eng engine.Engine) []byte {
						// Go ignores custom randomness for ECDSA and ECDH
						// keys: make crypto/rand itself repeat.
						cryptotest.SetGlobalRandom(t, 6)
						o := opts
						o.Engine, o.Rand = eng, detRand(6)
						img, err := mcuimg.Sign(payload, &o)
						if err != nil {
							t.Fatal(err)
						}
						return img
					}
					goImg, webImg := sign(nil), sign(e)
					if i := firstDiff(webImg, goImg); i >= 0 {
						t.Fatalf("WebCrypto's image differs from Go's from byte %d", i)
					}
					if !bytes.Equal(sign(nil), goImg) {
						t.Fatal("the same randomness gave two images: the comparison above proves nothing")
					}
				})
			}
		}
	}
}

// TestBundlesMatchGo: release bundles made with WebCrypto hashing are byte
// for byte those Go makes with the same randomness (age's included).
func TestBundlesMatchGo(t *testing.T) {
	e := webCrypto(t)
	key, err := keys.Generate(detRand(7), keys.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mcuimg.Sign(bytes.Repeat([]byte("firmware"), 1<<18), &mcuimg.SignOptions{Key: key, PadHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	make := func(eng engine.Engine) []byte {
		cryptotest.SetGlobalRandom(t, 8)
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		_, err = bundle.Create(context.Background(), &out, bytes.NewReader(img), bundle.Manifest{
			Product: "thermo-x2", Version: bundle.Version{Major: 1, Minor: 2, Patch: 3}, Channel: "stable",
			Created: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		}, bundle.CreateOptions{
			Key:    ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)),
			To:     bundle.Recipients{Keys: []bundle.Recipient{id.Recipient()}},
			Engine: eng,
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	goTFB, webTFB := make(nil), make(e)
	if i := firstDiff(webTFB, goTFB); i >= 0 {
		t.Fatalf("WebCrypto's bundle differs from Go's from byte %d", i)
	}
	// Opened with WebCrypto checking it: the image comes back; a payload
	// with one byte flipped is refused as Go refuses it.
	s, err := bundle.ReadHeader(bytes.NewReader(webTFB))
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.VerifyIntegrity()
	if err != nil {
		t.Fatal(err)
	}
	payload := webTFB[len(webTFB)-int(m.Payload.Size):]
	cryptotest.SetGlobalRandom(t, 8)
	id, _ := age.GenerateX25519Identity()
	var opened bytes.Buffer
	if err := bundle.DecryptWith(context.Background(), &opened, bytes.NewReader(payload), m, e, id); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(opened.Bytes(), img) {
		t.Fatal("DecryptWith(WebCrypto) returned another image")
	}
	bad := bytes.Clone(payload)
	bad[len(bad)/2] ^= 1
	goErr := bundle.Decrypt(context.Background(), io.Discard, bytes.NewReader(bad), m, id)
	webErr := bundle.DecryptWith(context.Background(), io.Discard, bytes.NewReader(bad), m, e, id)
	if !errors.Is(webErr, bundle.ErrPayloadMismatch) || webErr.Error() != goErr.Error() {
		t.Fatalf("altered payload: WebCrypto says %v, Go says %v", webErr, goErr)
	}
	if again := make(nil); bytes.Equal(again, goTFB) == false {
		t.Fatal("the same randomness gave two bundles: the comparison above proves nothing")
	}
}

// TestSealChunksMatchGo: age's payload chunks sealed by the console's
// workers (web/hash-worker.js: ChaCha20 in WebAssembly SIMD and Poly1305
// in WebAssembly, or both in JavaScript where the page refuses
// WebAssembly) are byte
// for byte engine.SealChunks' (Go's x/crypto), for lengths around the
// ChaCha20 block, the Poly1305 block and the chunk, counters past 32 bits,
// and keys and plaintexts of all ones (Poly1305's carries); AES-CTR in the
// workers is Go's too.
func TestSealChunksMatchGo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !browser.AwaitWorker(ctx) {
		t.Skip("no worker in this page (Node, or no " + browser.HashWorkerURL + "): the e2e package runs this in Chromium")
	}
	// Chromium seals in WebAssembly (ChaCha20 in SIMD); JavaScript alone,
	// for pages that refuse WebAssembly, must match Go's too.
	if s := browser.WorkerSealer(); s != "simd" {
		t.Errorf("the hash worker seals with %q, want WebAssembly SIMD (simd)", s)
	}
	for _, js := range []bool{false, true} {
		browser.SealInJavaScript(js)
		t.Run(map[bool]string{false: "wasm", true: "js"}[js], testSealChunksMatchGo)
	}
	browser.SealInJavaScript(false)
	rnd := detRand(10)
	// AES-CTR in the workers, from counters that carry and wrap, is Go's.
	for _, iv := range [][]byte{make([]byte, 16), bytes.Repeat([]byte{0xff}, 16), append(make([]byte, 8), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0)} {
		for _, keyLen := range []int{16, 32} {
			key, src := make([]byte, keyLen), make([]byte, minWorkerCTR+5)
			rnd.Read(key)
			rnd.Read(src)
			block, _ := aes.NewCipher(key)
			want := make([]byte, len(src))
			cipher.NewCTR(block, iv).XORKeyStream(want, src)
			got := make([]byte, len(src))
			if err := browser.StartCTR(key, iv, src)(got); err != nil {
				t.Fatalf("AES-%d from %x in the worker: %v", keyLen*8, iv, err)
			}
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("AES-%d from %x in the worker differs from Go's from byte %d", keyLen*8, iv, i)
			}
		}
	}
	if browser.Workers() == 0 {
		t.Error("no worker counted: the engine's AES-CTR would stay on the page")
	}
	// The engine seals through the worker, and refuses what Go refuses.
	if _, err := New().(engine.ChunkSealer).StartSealChunks(make([]byte, 32), 0, make([]byte, 100000), false)(nil); err == nil {
		t.Error("a partial chunk that is not the last was sealed")
	}
}

// testSealChunksMatchGo is TestSealChunksMatchGo's seal matrix, sealed
// the way SealInJavaScript chose.
func testSealChunksMatchGo(t *testing.T) {
	rnd := detRand(9)
	ck := engine.ChunkSize
	for _, size := range []int{0, 1, 15, 16, 17, 63, 64, 65, 1000, ck - 1, ck, ck + 1, ck + 15, 2*ck + 100, 16 * ck, 16*ck + 3} {
		for _, counter := range []uint64{0, 7, 1<<32 - 1, 1<<40 + 3} {
			for _, fill := range []int{-1, 0xff} {
				if size == 0 && counter != 0 {
					continue
				}
				last := size%ck != 0 || size == 0 || counter%2 == 1
				key, plain := make([]byte, 32), make([]byte, size)
				if fill < 0 {
					rnd.Read(key)
					rnd.Read(plain)
				} else {
					for i := range key {
						key[i] = byte(fill)
					}
					for i := range plain {
						plain[i] = byte(fill)
					}
				}
				want, err := engine.SealChunks(nil, key, counter, plain, last)
				if err != nil {
					t.Fatal(err)
				}
				got, err := browser.StartSealChunks(key, counter, plain, last)([]byte("prefix"))
				if err != nil {
					t.Fatalf("%d bytes from chunk %d: %v", size, counter, err)
				}
				if i := firstDiff(got[6:], want); i >= 0 || string(got[:6]) != "prefix" {
					t.Fatalf("%d bytes from chunk %d (last %v, fill %d): the worker's ciphertext differs from Go's from byte %d",
						size, counter, last, fill, i)
				}
			}
		}
	}
}

// TestHashXORMatchesGo: hashing and encrypting in one pass
// (engine.HashXORer: each piece goes to the hash worker once, to be
// joined to the digest's input and encrypted) gives SHA-256's digest and
// Go's AES-CTR, for calls below and above the worker's threshold, calls
// that leave a partial block, plain writes between them, and counters
// that carry.
func TestHashXORMatchesGo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !browser.AwaitWorker(ctx) {
		t.Skip("no worker in this page (Node, or no " + browser.HashWorkerURL + "): the e2e package runs this in Chromium")
	}
	e := webCrypto(t)
	x, ok := e.(engine.HashXORer)
	if !ok {
		t.Fatal("WebCrypto's engine does not hash and encrypt in one pass")
	}
	// Both ways a piece goes: encrypted beside the hash worker, and in the
	// hash worker itself (until the worker beside it has started).
	t.Run("beside", func(t *testing.T) {
		if !browser.AwaitEncryptBeside(ctx) {
			t.Fatal("the worker that encrypts beside the hash worker did not start")
		}
		before := browser.EncryptedBeside()
		testHashXOR(t, e, x)
		if browser.EncryptedBeside() == before {
			t.Fatal("no piece was encrypted beside the hash worker")
		}
	})
	t.Run("in-hash-worker", func(t *testing.T) {
		browser.EncryptBeside(false)
		defer browser.EncryptBeside(true)
		before := browser.EncryptedBeside()
		testHashXOR(t, e, x)
		if browser.EncryptedBeside() != before {
			t.Fatal("pieces were encrypted beside the hash worker")
		}
	})
}

// testHashXOR checks HashXORKeyStream's bytes and digest against Go's,
// through a run of pieces long and short, for AES-128 and AES-256 and a
// counter that carries past 64 bits.
func testHashXOR(t *testing.T, e engine.Engine, x engine.HashXORer) {
	rnd := detRand(10)
	// Each step: plaintext through HashXORKeyStream, then a plain Write
	// of that many bytes to the hash alone (0: none).
	type step struct{ xor, write int }
	steps := []step{{512, 0}, {minWorkerCTR, 0}, {ctrPart*3 + 5, 0}, {minWorkerCTR + 11, 100}, {1 << 20, 0}, {minCTR, 7}, {2<<20 + 16, 3000}, {5, 0}}
	total, xorTotal := 0, 0
	for _, s := range steps {
		total += s.xor + s.write
		xorTotal += s.xor
	}
	for _, iv := range [][]byte{make([]byte, 16), append(make([]byte, 8), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0)} {
		for _, keyLen := range []int{16, 32} {
			key, in := make([]byte, keyLen), make([]byte, total)
			rnd.Read(key)
			rnd.Read(in)
			block, _ := aes.NewCipher(key)
			goCTR := cipher.NewCTR(block, iv)
			goHash := sha256.New()
			h := e.NewSHA256()
			s, err := e.NewCTR(key, iv)
			if err != nil {
				t.Fatal(err)
			}
			got, want := make([]byte, xorTotal), make([]byte, xorTotal)
			off, xoff := 0, 0
			for _, st := range steps {
				src := in[off : off+st.xor]
				x.HashXORKeyStream(h, s, got[xoff:xoff+st.xor], src)
				goHash.Write(src)
				goCTR.XORKeyStream(want[xoff:xoff+st.xor], src)
				off, xoff = off+st.xor, xoff+st.xor
				h.Write(in[off : off+st.write])
				goHash.Write(in[off : off+st.write])
				off += st.write
			}
			if d := h.(*digest); d.sink == nil || !d.sink.InWorker() {
				t.Fatalf("AES-%d from %x: the digest's input is not in the worker: the one-pass path was not taken", keyLen*8, iv)
			}
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("AES-%d from %x: the ciphertext differs from Go's from byte %d", keyLen*8, iv, i)
			}
			if sum, wantSum := h.Sum(nil), goHash.Sum(nil); !bytes.Equal(sum, wantSum) {
				t.Fatalf("AES-%d from %x: SHA-256 %x, want %x", keyLen*8, iv, sum, wantSum)
			}
		}
	}
}

// BenchmarkSealChunks reports sealing 16 MiB as age's chunks, 1 MiB at a
// time: in Go (WebAssembly, the page's thread), and in the console's
// workers, four batches in flight.
func BenchmarkSealChunks(b *testing.B) {
	key, plain := make([]byte, 32), make([]byte, 16<<20)
	const batch = 1 << 20
	b.Run("go", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		var out []byte
		for b.Loop() {
			for off := 0; off < len(plain); off += batch {
				var err error
				if out, err = engine.SealChunks(out[:0], key, uint64(off/engine.ChunkSize), plain[off:off+batch], off+batch == len(plain)); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("workers", func(b *testing.B) {
		if !browser.AwaitWorker(context.Background()) {
			b.Skip("no worker")
		}
		b.SetBytes(int64(len(plain)))
		var out []byte
		for b.Loop() {
			var waits []func([]byte) ([]byte, error)
			for off := 0; off < len(plain); off += batch {
				waits = append(waits, browser.StartSealChunks(key, uint64(off/engine.ChunkSize), plain[off:off+batch], off+batch == len(plain)))
				if len(waits) > 4 {
					var err error
					if out, err = waits[0](out[:0]); err != nil {
						b.Fatal(err)
					}
					waits = waits[1:]
				}
			}
			for _, w := range waits {
				var err error
				if out, err = w(out[:0]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// TestKeptBundlesMatchGo: a bundle whose payload the console's worker
// seals, digests and keeps (bundle.CreateKept with WebCrypto's
// engine.PayloadKeeper) has the header and manifest of the one Go makes
// from the same randomness, so the same payload digest and size, for one
// recipient (the chunks land on 4-byte boundaries) and two (they do not),
// sealed by the hash worker alone and then with a second worker whose
// batches are put in place.
func TestKeptBundlesMatchGo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !browser.AwaitWorker(ctx) {
		t.Skip("no worker in this page (Node, or no " + browser.HashWorkerURL + "): the e2e package runs this in Chromium")
	}
	key, err := keys.Generate(detRand(7), keys.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	// About 3.7 MiB: the last batch of plaintext (1 MiB each) is over
	// half of one, and goes to the worker in a buffer longer than itself.
	img, err := mcuimg.Sign(bytes.Repeat([]byte("firmware"), 3<<17+90000), &mcuimg.SignOptions{Key: key, PadHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	m := bundle.Manifest{Product: "thermo-x2", Version: bundle.Version{Major: 1, Minor: 2, Patch: 3}, Channel: "stable",
		Created: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	signer := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	for _, c := range []struct {
		n      int
		helper bool
	}{{1, false}, {2, false}, {1, true}, {2, true}} {
		n := c.n
		if c.helper && browser.Workers() < 2 && !browser.AddSealHelper(ctx) {
			t.Fatal("no second sealing worker started")
		}
		to := func() bundle.Recipients {
			var to bundle.Recipients
			for range n {
				id, err := age.GenerateX25519Identity()
				if err != nil {
					t.Fatal(err)
				}
				to.Keys = append(to.Keys, id.Recipient())
			}
			return to
		}
		cryptotest.SetGlobalRandom(t, 8)
		var want bytes.Buffer
		if _, err := bundle.Create(ctx, &want, bytes.NewReader(img), m, bundle.CreateOptions{Key: signer, To: to()}); err != nil {
			t.Fatal(err)
		}
		cryptotest.SetGlobalRandom(t, 8)
		kept := New().(engine.PayloadKeeper).KeepPayload(ctx, int64(len(img))+4096)
		if kept == nil {
			t.Fatal("WebCrypto's engine kept no payload with its worker running")
		}
		s, err := bundle.CreateKept(ctx, bytes.NewReader(img), m, kept, bundle.CreateOptions{Key: signer, To: to(), Engine: New()})
		if err != nil {
			t.Fatalf("%d recipients: %v", n, err)
		}
		var head bytes.Buffer
		if err := bundle.WriteHeader(&head, s); err != nil {
			t.Fatal(err)
		}
		if got := int64(head.Len()) + kept.Len(); got != int64(want.Len()) || !bytes.HasPrefix(want.Bytes(), head.Bytes()) {
			t.Fatalf("%d recipients, %d workers: the kept bundle (%d bytes) has another header or size than Go's (%d bytes)", n, browser.Workers(), got, want.Len())
		}
		kept.Release()
		if _, err := kept.Sum(ctx); err == nil {
			t.Errorf("%d recipients: a released payload was digested", n)
		}
	}
}
