package mcuimg

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"trustforge/crypto/keys"
)

func TestPureSignature(t *testing.T) {
	t.Parallel()
	key := testPrivateKey(t, "ed25519.pem")
	signed, err := Sign(readTestdata(t, "app.bin"), &SignOptions{Key: key, Pure: true, HeaderSize: 0x200, PadHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	img, err := Parse(signed)
	if err != nil {
		t.Fatal(err)
	}
	var types []TLVType
	for _, tlv := range img.Unprotected.TLVs {
		types = append(types, tlv.Type)
	}
	want := []TLVType{TLVSHA512, TLVSigPure, TLVKeyHash, TLVEd25519}
	if len(types) != len(want) {
		t.Fatalf("TLVs %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("TLVs %v, want %v", types, want)
		}
	}
	if kh, _ := img.Unprotected.Find(TLVKeyHash); len(kh.Value) != 64 {
		t.Errorf("KEYHASH of a SHA512 image is %d bytes, want 64 (SHA-512 of the key)", len(kh.Value))
	}
	v, err := img.Verify(VerifyOptions{Keys: []*keys.PublicKey{key.Public()}})
	if err != nil || !v.Pure {
		t.Fatalf("Verify: %+v, %v", v, err)
	}
	// A pure signature is over the image, not the hash: replacing it with a
	// hash-then-sign signature must fail.
	sigTLV, _ := img.Unprotected.Find(TLVEd25519)
	signer, _ := key.Signer()
	hashSig, _ := signer.Sign(nil, img.Unprotected.TLVs[0].Value, &ed25519Opts{})
	forged := append([]byte(nil), signed...)
	copy(forged[sigTLV.Offset+tlvHeaderSize:], hashSig)
	fimg, _ := Parse(forged)
	if _, err := fimg.Verify(VerifyOptions{Keys: []*keys.PublicKey{key.Public()}}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("hash-then-sign signature in a pure image: err = %v, want ErrBadSignature", err)
	}
}

type ed25519Opts struct{}

func (ed25519Opts) HashFunc() crypto.Hash { return 0 }

func TestProtectedTLVAccessors(t *testing.T) {
	t.Parallel()
	img, err := Parse(smallImage(t, testPrivateKey(t, "ed25519.pem")))
	if err != nil {
		t.Fatal(err)
	}
	cnt, ok, err := img.SecurityCounter()
	if err != nil || !ok || cnt != 0x01020003 {
		t.Errorf("SecurityCounter = %#x, %v, %v", cnt, ok, err)
	}
	deps, err := img.Dependencies()
	if err != nil || len(deps) != 1 || deps[0] != (Dependency{1, Version{0, 5, 0, 0}}) {
		t.Errorf("Dependencies = %v, %v", deps, err)
	}
	if c, ok := img.ProtectedTLV(0xa0); !ok || !bytes.Equal(c.Value, []byte{1, 2}) {
		t.Errorf("custom TLV = %v, %v", c, ok)
	}
	if got, want := int(img.Header.ProtectedTLVSize), 4+8+16+6; got != want {
		t.Errorf("protected TLV size = %d, want %d", got, want)
	}
	info := img.Info("x")
	if info.TLVArea.ProtectedHeader.Magic == nil || *info.TLVArea.ProtectedHeader.Magic != ProtectedInfoMagic || len(info.TLVArea.Protected) != 3 {
		t.Errorf("Info protected area = %+v", info.TLVArea)
	}
	if got := info.TLVArea.Protected[0].Decoded; got != "security counter 16908291" {
		t.Errorf("SEC_CNT decoded as %q", got)
	}
}

// TestUnprotectedValuesRefused checks that a value that belongs in the
// protected area is refused in the unprotected one, where anyone could
// change it without breaking the signature.
func TestUnprotectedValuesRefused(t *testing.T) {
	t.Parallel()
	key := testPrivateKey(t, "ed25519.pem")
	signed, err := Sign([]byte("firmware"), &SignOptions{Key: key, PadHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	img, _ := Parse(signed)
	tlvs := append(append([]TLV(nil), img.Unprotected.TLVs...), TLV{Type: TLVSecCnt, Value: []byte{0xff, 0xff, 0xff, 0x7f}})
	area, _ := encodeTLVArea(UnprotectedInfoMagic, tlvs)
	forged := append(append([]byte(nil), signed[:img.Unprotected.Offset]...), area...)
	fimg, err := Parse(forged)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := fimg.SecurityCounter(); ok {
		t.Error("SecurityCounter reads an unprotected SEC_CNT")
	}
	if _, err := fimg.Verify(VerifyOptions{Keys: []*keys.PublicKey{key.Public()}}); !errors.Is(err, ErrBadTLV) {
		t.Errorf("Verify: err = %v, want ErrBadTLV", err)
	}
}

func TestVerifyModes(t *testing.T) {
	t.Parallel()
	ed := testPrivateKey(t, "ed25519.pem")
	unsigned, err := Sign([]byte("firmware"), &SignOptions{PadHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	img, _ := Parse(unsigned)
	if _, err := img.Verify(VerifyOptions{}); err != nil {
		t.Errorf("hash-only verify of an unsigned image: %v", err)
	}
	if _, err := img.Verify(VerifyOptions{Keys: []*keys.PublicKey{ed.Public()}}); !errors.Is(err, ErrNoSignature) {
		t.Errorf("verify unsigned image with a key: err = %v, want ErrNoSignature", err)
	}
	full, _ := Sign([]byte("firmware"), &SignOptions{Key: ed, PublicKeyFormat: KeyFormatFull, PadHeader: true})
	fimg, _ := Parse(full)
	if v, err := fimg.Verify(VerifyOptions{Keys: []*keys.PublicKey{testPublicKey(t, "ecdsa-p256-pub.pem"), ed.Public()}}); err != nil || !v.Key.Equal(ed.Public()) {
		t.Errorf("PUBKEY image with two trusted keys: %v, %v", v, err)
	}
	x := testPrivateKey(t, "x25519-enc.pem")
	clear, _ := Sign([]byte("firmware"), &SignOptions{Key: ed, EncryptTo: x.Public(), Clear: true, PadHeader: true})
	cimg, _ := Parse(clear)
	if !cimg.Encrypted() || !bytes.Contains(cimg.Payload(), []byte("firmware")) {
		t.Fatal("--clear image: want encrypted flag and plaintext payload")
	}
	if v, err := cimg.Verify(VerifyOptions{Keys: []*keys.PublicKey{ed.Public()}}); err != nil || v.Decrypted {
		t.Errorf("--clear image verifies as stored: %+v, %v", v, err)
	}
}

func TestSlotTrailerAlignments(t *testing.T) {
	t.Parallel()
	key := testPrivateKey(t, "ed25519.pem")
	for _, tt := range []struct{ align, maxAlign, size int }{{8, 0, 3120}, {1, 0, 432}, {4, 8, 1584}, {32, 0, 12448}, {8, 32, 3232}} {
		opts := SignOptions{Key: key, PadHeader: true, Align: tt.align, MaxAlign: tt.maxAlign, SlotSize: 0x8000, Confirm: true}
		size, err := TrailerLayout{Align: tt.align, MaxAlign: tt.maxAlign}.Size()
		if err != nil || size != tt.size {
			t.Errorf("align %d/%d: trailer size %d, %v, want %d", tt.align, tt.maxAlign, size, err, tt.size)
		}
		signed, err := Sign([]byte("firmware"), &opts)
		if err != nil {
			t.Fatal(err)
		}
		img, err := Parse(signed)
		if err != nil {
			t.Fatalf("align %d/%d: %v", tt.align, tt.maxAlign, err)
		}
		wantMax := max(8, tt.align, tt.maxAlign)
		if img.Trailer == nil || img.Trailer.MaxAlign != wantMax || !img.Trailer.ImageOKSet() || img.Trailer.Magic != TrailerMagic(wantMax) {
			t.Errorf("align %d/%d: trailer %+v, want max align %d, confirmed", tt.align, tt.maxAlign, img.Trailer, wantMax)
		}
	}
	// imgtool's figure: app.bin in a slot one byte too small is refused.
	over := len(readTestdata(t, "app-ed25519.signed.bin")) + 3120 - 1
	_, err := Sign(readTestdata(t, "app.bin"), &SignOptions{Key: key, HeaderSize: 0x200, PadHeader: true, Align: 8, SlotSize: over})
	if !errors.Is(err, ErrSlotTooSmall) {
		t.Errorf("slot %#x: err = %v, want ErrSlotTooSmall", over, err)
	}
	if _, err := Sign(readTestdata(t, "app.bin"), &SignOptions{Key: key, HeaderSize: 0x200, PadHeader: true, Align: 8, SlotSize: over + 1}); err != nil {
		t.Errorf("slot %#x (exact fit): %v", over+1, err)
	}
}

func TestParsePrefix(t *testing.T) {
	t.Parallel()
	padded := readTestdata(t, "app-ecdsa-p256-confirm.padded.bin")
	slot := append([]byte(nil), padded...)
	copy(slot[len(slot)-400:], bytes.Repeat([]byte{0x01}, 24)) // swap status written by a bootloader
	if _, err := Parse(slot); !errors.Is(err, ErrTrailingData) {
		t.Errorf("Parse of a slot with swap status: err = %v, want ErrTrailingData", err)
	}
	img, err := ParsePrefix(slot)
	if err != nil {
		t.Fatal(err)
	}
	if img.Trailer == nil || !img.Trailer.ImageOKSet() || img.Size() != 0x10298 {
		t.Errorf("ParsePrefix: size %#x, trailer %+v", img.Size(), img.Trailer)
	}
}

// TestLegacyAES256Wrap opens an AES-256 image key wrapped the way imgtool
// releases before MCUboot's fix wrapped it: with AES-128.
func TestLegacyAES256Wrap(t *testing.T) {
	t.Parallel()
	x := testPrivateKey(t, "x25519-enc.pem")
	signed, err := Sign([]byte("firmware"), &SignOptions{PadHeader: true, EncryptTo: x.Public(), EncryptKeyLen: 256})
	if err != nil {
		t.Fatal(err)
	}
	img, _ := Parse(signed)
	aesKey, err := img.UnwrapKey(x)
	if err != nil {
		t.Fatal(err)
	}
	eph, _ := ecdh.X25519().GenerateKey(rand.Reader)
	xpub, _ := x.Public().ECDH()
	shared, _ := eph.ECDH(xpub)
	kek, macKey, _ := deriveWrapKeys(shared, 16, 32)
	wrapped := make([]byte, 32)
	xorCTR(kek, wrapped, aesKey)
	mac := hmac.New(sha256.New, macKey)
	mac.Write(wrapped)
	enc, _ := img.Unprotected.Find(TLVEncX25519)
	legacy := append(append(eph.PublicKey().Bytes(), mac.Sum(nil)...), wrapped...)
	forged := append([]byte(nil), signed...)
	copy(forged[enc.Offset+tlvHeaderSize:], legacy)
	limg, _ := Parse(forged)
	got, err := limg.UnwrapKey(x)
	if err != nil || !bytes.Equal(got, aesKey) {
		t.Errorf("legacy wrap: %x, %v", got, err)
	}
	if _, err := limg.Verify(VerifyOptions{DecryptionKey: x}); err != nil {
		t.Errorf("legacy wrap: verify: %v", err)
	}
}

func TestSignToStreaming(t *testing.T) {
	t.Parallel()
	key := testPrivateKey(t, "ed25519.pem")
	app := readTestdata(t, "app.bin")
	want := readTestdata(t, "app-ed25519.signed.bin")
	opts := vectorOptions()
	opts.Key = key
	var out bytes.Buffer
	if _, err := SignTo(context.Background(), &out, iotest.HalfReader(bytes.NewReader(app)), int64(len(app)), &opts); err != nil || !bytes.Equal(out.Bytes(), want) {
		t.Errorf("slow reader: equal %v, err %v", bytes.Equal(out.Bytes(), want), err)
	}
	tests := []struct {
		name string
		ctx  func() context.Context
		r    io.Reader
		size int64
		want string
	}{
		{"short input", context.Background, bytes.NewReader(app[:1000]), int64(len(app)), "input ended"},
		{"long input", context.Background, bytes.NewReader(append(app, 1)), int64(len(app)), "longer than its declared size"},
		{"read error", context.Background, iotest.ErrReader(errors.New("disk on fire")), int64(len(app)), "disk on fire"},
		{"cancelled", func() context.Context { c, cancel := context.WithCancel(context.Background()); cancel(); return c }, bytes.NewReader(app), int64(len(app)), "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SignTo(tt.ctx(), io.Discard, tt.r, tt.size, &opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := SignTo(context.Background(), errWriterTo{}, bytes.NewReader(app), int64(len(app)), &opts); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write error: %v", err)
	}
}

type errWriterTo struct{}

func (errWriterTo) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSignOptionErrors(t *testing.T) {
	t.Parallel()
	ed := testPrivateKey(t, "ed25519.pem")
	ec := testPrivateKey(t, "ecdsa-p256.pem")
	x := testPrivateKey(t, "x25519-enc.pem")
	tests := []struct {
		name string
		opts SignOptions
		in   []byte
	}{
		{"header too small", SignOptions{HeaderSize: 16, PadHeader: true}, nil},
		{"input shorter than header", SignOptions{HeaderSize: 0x200}, make([]byte, 10)},
		{"x25519 signing key", SignOptions{Key: x, PadHeader: true}, nil},
		{"ed25519 encryption key", SignOptions{EncryptTo: ed.Public(), PadHeader: true}, nil},
		{"ecdsa with sha512", SignOptions{Key: ec, Hash: TLVSHA512, PadHeader: true}, nil},
		{"pure with sha256", SignOptions{Key: ed, Pure: true, Hash: TLVSHA256, PadHeader: true}, nil},
		{"pure and encrypted", SignOptions{Key: ed, Pure: true, EncryptTo: x.Public(), PadHeader: true}, nil},
		{"key length 192", SignOptions{EncryptTo: x.Public(), EncryptKeyLen: 192, PadHeader: true}, nil},
		{"clear without encryption", SignOptions{Clear: true, PadHeader: true}, nil},
		{"pad without slot", SignOptions{Pad: true, PadHeader: true}, nil},
		{"align 3", SignOptions{Align: 3, PadHeader: true}, nil},
		{"custom TLV not vendor", SignOptions{CustomTLVs: []TLV{{Type: TLVSecCnt}}, PadHeader: true}, nil},
		{"custom TLV twice", SignOptions{CustomTLVs: []TLV{{Type: 0xa0}, {Type: 0xa0}}, PadHeader: true}, nil},
		{"load and rom address", SignOptions{LoadAddr: 1, ROMFixed: 2, PadHeader: true}, nil},
		{"header not zero", SignOptions{HeaderSize: 0x20}, bytes.Repeat([]byte{1}, 0x40)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Sign(tt.in, &tt.opts); !errors.Is(err, ErrInvalidOption) && !errors.Is(err, ErrUnsupported) {
				t.Errorf("err = %v, want ErrInvalidOption", err)
			}
		})
	}
}

func TestHeaderFlagsAndFiller(t *testing.T) {
	t.Parallel()
	signed, err := Sign(append(make([]byte, 0x40), "code"...), &SignOptions{HeaderSize: 0x40, LoadAddr: 0x20000000, NonBootable: true, ErasedZero: true})
	if err != nil {
		t.Fatal(err)
	}
	img, _ := Parse(signed)
	if img.Flags() != FlagRAMLoad|FlagNonBootable || img.Header.LoadAddr != 0x20000000 {
		t.Errorf("flags %v, load address %#x", img.Flags(), img.Header.LoadAddr)
	}
	if got := img.Flags().String(); got != "NON_BOOTABLE|RAM_LOAD" {
		t.Errorf("flags string %q", got)
	}
	if !bytes.Equal(img.Payload(), []byte("code")) || !bytes.Equal(signed[HeaderSize:0x40], make([]byte, 0x40-HeaderSize)) {
		t.Error("input header area not kept as filler")
	}
	rom, _ := Sign([]byte("x"), &SignOptions{PadHeader: true, ROMFixed: 0x8000})
	rimg, _ := Parse(rom)
	if rimg.Flags() != FlagROMFixed || rimg.Header.LoadAddr != 0x8000 {
		t.Errorf("ROM fixed: flags %v, load address %#x", rimg.Flags(), rimg.Header.LoadAddr)
	}
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Version
		ok   bool
	}{
		{"1.2.3+4", Version{1, 2, 3, 4}, true},
		{"0", Version{}, true},
		{"1.2", Version{1, 2, 0, 0}, true},
		{"255.255.65535+4294967295", Version{255, 255, 65535, 4294967295}, true},
		{"256", Version{}, false},
		{"1.2+3", Version{}, false},
		{"01.2.3", Version{}, false},
		{"1.2.3.4", Version{}, false},
		{"1.-2", Version{}, false},
		{"", Version{}, false},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	v := Version{1, 2, 3, 4}
	if v.Compare(Version{1, 2, 4, 0}) != -1 || (Version{2, 0, 0, 0}).Compare(Version{1, 9, 9, 9}) != 1 || v.Compare(v) != 0 {
		t.Error("Compare ordering")
	}
	if got := AutoSecurityCounter(Version{1, 2, 3, 4}); got != 0x01020003 {
		t.Errorf("AutoSecurityCounter = %#x", got)
	}
}

func TestParseDependencies(t *testing.T) {
	t.Parallel()
	got, err := ParseDependencies("(0, 1.2.3), (1,2.0.0+7)")
	want := []Dependency{{0, Version{1, 2, 3, 0}}, {1, Version{2, 0, 0, 7}}}
	if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ParseDependencies = %v, %v", got, err)
	}
	for _, bad := range []string{"", "1,0.5.0", "(1,0.5.0", "(x,1.0)", "(1)", "(1,1.0)junk", "(300,1.0)"} {
		if _, err := ParseDependencies(bad); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("ParseDependencies(%q): err = %v", bad, err)
		}
	}
}
