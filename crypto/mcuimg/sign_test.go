package mcuimg

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"hash"
	"testing"

	"trustforge/crypto/engine"
	"trustforge/crypto/keys"
)

// vectorOptions are the options every vector in testdata was signed with.
func vectorOptions() SignOptions {
	return SignOptions{
		Version:    Version{1, 2, 3, 4},
		HeaderSize: 0x200,
		PadHeader:  true,
		Align:      8,
		SlotSize:   0x40000,
	}
}

func TestSignReproducesEd25519Vector(t *testing.T) {
	t.Parallel()
	opts := vectorOptions()
	opts.Key = testPrivateKey(t, "ed25519.pem")
	got, err := Sign(readTestdata(t, "app.bin"), &opts)
	if err != nil {
		t.Fatal(err)
	}
	want := readTestdata(t, "app-ed25519.signed.bin")
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("signed image differs from imgtool's at offset %#x (got %d bytes, want %d)", i, len(got), len(want))
	}
}

func TestSignStreamingMatchesSign(t *testing.T) {
	t.Parallel()
	opts := vectorOptions()
	opts.Key = testPrivateKey(t, "ed25519.pem")
	app := readTestdata(t, "app.bin")
	var out bytes.Buffer
	res, err := SignTo(context.Background(), &out, bytes.NewReader(app), int64(len(app)), &opts)
	if err != nil {
		t.Fatal(err)
	}
	want := readTestdata(t, "app-ed25519.signed.bin")
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("SignTo output differs from imgtool's image")
	}
	if res.Size != len(want) {
		t.Errorf("Size = %d, want %d", res.Size, len(want))
	}
	img, _ := Parse(want)
	if _, h, _ := img.Hash(); !bytes.Equal(res.Hash, h) {
		t.Errorf("Hash = %x, want %x", res.Hash, h)
	}
}

func TestSignECDSAVerifies(t *testing.T) {
	t.Parallel()
	for _, format := range []KeyFormat{KeyFormatHash, KeyFormatFull} {
		opts := vectorOptions()
		opts.Key = testPrivateKey(t, "ecdsa-p256.pem")
		opts.PublicKeyFormat = format
		got, err := Sign(readTestdata(t, "app.bin"), &opts)
		if err != nil {
			t.Fatal(err)
		}
		img, err := Parse(got)
		if err != nil {
			t.Fatal(err)
		}
		v, err := img.Verify(VerifyOptions{Keys: []*keys.PublicKey{testPublicKey(t, "ecdsa-p256-pub.pem")}})
		if err != nil {
			t.Fatalf("format %d: Verify: %v", format, err)
		}
		if v.Signature != TLVECDSASig {
			t.Errorf("signature = %v", v.Signature)
		}
		wantKeyTLV := TLVKeyHash
		if format == KeyFormatFull {
			wantKeyTLV = TLVPubKey
		}
		if got := img.Unprotected.TLVs[1].Type; got != wantKeyTLV {
			t.Errorf("format %d: second TLV = %v, want %v", format, got, wantKeyTLV)
		}
		// Same hash as imgtool's ECDSA image: same header, payload and (no) protected TLVs.
		vec, _ := Parse(readTestdata(t, "app-ecdsa-p256.signed.bin"))
		_, h1, _ := img.Hash()
		_, h2, _ := vec.Hash()
		if !bytes.Equal(h1, h2) {
			t.Errorf("hash %x, imgtool's %x", h1, h2)
		}
	}
}

func TestSignPaddedConfirmMatchesVectorLayout(t *testing.T) {
	t.Parallel()
	opts := vectorOptions()
	opts.Key = testPrivateKey(t, "ecdsa-p256.pem")
	opts.Pad, opts.Confirm = true, true
	got, err := Sign(readTestdata(t, "app.bin"), &opts)
	if err != nil {
		t.Fatal(err)
	}
	want := readTestdata(t, "app-ecdsa-p256-confirm.padded.bin")
	if len(got) != len(want) {
		t.Fatalf("len = %#x, want %#x", len(got), len(want))
	}
	gi, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	wi, _ := Parse(want)
	// Everything but the ECDSA signature (randomised, 70–72 bytes) lines up.
	if !bytes.Equal(got[:wi.hashedLen()], want[:wi.hashedLen()]) {
		t.Error("hashed region differs from imgtool's")
	}
	tail := 0x1000
	if !bytes.Equal(got[len(got)-tail:], want[len(want)-tail:]) {
		t.Error("last 4 KiB (filler and trailer) differ from imgtool's")
	}
	if *gi.Trailer != *wi.Trailer {
		t.Errorf("trailer = %+v, want %+v", *gi.Trailer, *wi.Trailer)
	}
}

func TestSignEncryptRoundTrip(t *testing.T) {
	t.Parallel()
	x25519Priv := testPrivateKey(t, "x25519-enc.pem")
	p256Priv := testPrivateKey(t, "ecdsa-p256.pem")
	edKey := testPrivateKey(t, "ed25519.pem")
	app := readTestdata(t, "app.bin")
	odd := append(append([]byte(nil), app...), 1, 2, 3) // not a whole number of AES blocks
	tests := []struct {
		name    string
		encKey  *keys.PrivateKey
		keyLen  int
		payload []byte
		tlv     TLVType
		tlvLen  int
		flag    Flags
	}{
		{"x25519-aes128", x25519Priv, 128, app, TLVEncX25519, 80, FlagEncryptedAES128},
		{"x25519-aes256", x25519Priv, 256, odd, TLVEncX25519, 96, FlagEncryptedAES256},
		{"p256-aes128", p256Priv, 0, odd, TLVEncEC256, 113, FlagEncryptedAES128},
		{"p256-aes256", p256Priv, 256, app, TLVEncEC256, 129, FlagEncryptedAES256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := vectorOptions()
			opts.Key = edKey
			opts.EncryptTo = tt.encKey.Public()
			opts.EncryptKeyLen = tt.keyLen
			signed, err := Sign(tt.payload, &opts)
			if err != nil {
				t.Fatal(err)
			}
			img, err := Parse(signed)
			if err != nil {
				t.Fatal(err)
			}
			if img.Flags() != tt.flag {
				t.Errorf("flags = %v, want %v", img.Flags(), tt.flag)
			}
			enc, ok := img.Unprotected.Find(tt.tlv)
			if !ok || len(enc.Value) != tt.tlvLen {
				t.Fatalf("%v TLV: found %v, %d bytes, want %d", tt.tlv, ok, len(enc.Value), tt.tlvLen)
			}
			if bytes.Equal(img.Payload()[:len(app)], app) {
				t.Fatal("payload is not encrypted")
			}
			trusted := []*keys.PublicKey{edKey.Public()}
			if _, err := img.Verify(VerifyOptions{Keys: trusted, DecryptionKey: tt.encKey}); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			plain, err := img.DecryptPayload(tt.encKey)
			if err != nil {
				t.Fatal(err)
			}
			want := append(append([]byte(nil), tt.payload...), make([]byte, len(plain)-len(tt.payload))...)
			if len(plain)%16 != 0 || !bytes.Equal(plain, want) {
				t.Errorf("decrypted payload: %d bytes, want %d zero-padded to a block", len(plain), len(tt.payload))
			}
			dec, err := img.Decrypt(tt.encKey)
			if err != nil {
				t.Fatal(err)
			}
			dimg, err := Parse(dec)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dimg.Verify(VerifyOptions{Keys: trusted}); err != nil {
				t.Errorf("decrypted image does not verify: %v", err)
			}
			var streamed bytes.Buffer
			if err := img.DecryptTo(&streamed, tt.encKey); err != nil || !bytes.Equal(streamed.Bytes(), dec) {
				t.Errorf("DecryptTo: err %v, equal %v", err, bytes.Equal(streamed.Bytes(), dec))
			}
			other, _ := keys.Generate(rand.Reader, tt.encKey.Algorithm())
			if _, err := img.DecryptPayload(other); !errors.Is(err, ErrDecryptionKey) {
				t.Errorf("decrypt with another key: err = %v, want ErrDecryptionKey", err)
			}
		})
	}
}

// expectEngine is Go's engine with a hash that records what it was told
// to expect (engine.Expecter) and how much was written to it.
type expectEngine struct {
	engine.Engine
	hashes []*expectHash
}

type expectHash struct {
	hash.Hash
	expect, written int64
}

func (h *expectHash) Expect(n int64) { h.expect = n }

func (h *expectHash) Write(p []byte) (int, error) {
	h.written += int64(len(p))
	return h.Hash.Write(p)
}

func (e *expectEngine) NewSHA256() hash.Hash {
	h := &expectHash{Hash: e.Engine.NewSHA256()}
	e.hashes = append(e.hashes, h)
	return h
}

// An engine that holds its input until Sum (WebCrypto's) is told exactly
// how much the image hash covers before the first byte, clear or
// encrypted, so it makes room once.
func TestSignTellsTheHashItsLength(t *testing.T) {
	t.Parallel()
	app := readTestdata(t, "app.bin")
	for _, encrypt := range []bool{false, true} {
		opts := vectorOptions()
		opts.Key = testPrivateKey(t, "ed25519.pem")
		if encrypt {
			opts.EncryptTo = testPrivateKey(t, "x25519-enc.pem").Public()
		}
		eng := &expectEngine{Engine: engine.Go}
		opts.Engine = eng
		if _, err := Sign(app, &opts); err != nil {
			t.Fatal(err)
		}
		if len(eng.hashes) != 1 {
			t.Fatalf("encrypted %v: %d image hashes made, want 1", encrypt, len(eng.hashes))
		}
		h := eng.hashes[0]
		if h.expect == 0 || h.expect != h.written {
			t.Errorf("encrypted %v: the hash was told to expect %d bytes and was given %d", encrypt, h.expect, h.written)
		}
	}
}
