package espimg

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestSignVerify(t *testing.T) {
	t.Parallel()
	img := testImage(t, 5000)
	for _, name := range []string{"rsa3072.pem", "ecdsa256.pem"} {
		t.Run(name, func(t *testing.T) {
			k := testKey(t, name)
			signed, err := Sign(rand.Reader, img, k)
			if err != nil {
				t.Fatal(err)
			}
			if len(signed)%SectorSize != 0 || len(signed) != 3*SectorSize {
				t.Fatalf("signed length %d, want %d", len(signed), 3*SectorSize)
			}
			if !bytes.Equal(signed[:len(img)], img) || signed[len(img)] != 0xFF {
				t.Error("image not kept and padded with 0xFF")
			}
			if _, err := Parse(signed); err != nil {
				t.Errorf("signed image no longer parses: %v", err)
			}
			blk, err := VerifyWith(signed, k.Public())
			if err != nil {
				t.Fatal(err)
			}
			d, _ := KeyDigest(k.Public())
			if blk.KeyDigest() != d {
				t.Error("block key digest differs from KeyDigest")
			}
			if _, err := Verify(signed, VerifyOptions{Digests: [][32]byte{d}}); err != nil {
				t.Errorf("by digest: %v", err)
			}
			other := testKey(t, "rsa3072-b.pem")
			if _, err := VerifyWith(signed, other.Public()); !errors.Is(err, ErrUntrustedKey) {
				t.Errorf("other key: %v, want ErrUntrustedKey", err)
			}
			bad := append([]byte(nil), signed...)
			bad[100] ^= 1
			if _, err := VerifyWith(bad, k.Public()); !errors.Is(err, ErrBadSignature) {
				t.Errorf("changed image: %v, want ErrBadSignature", err)
			}
			bad = append([]byte(nil), signed...)
			bad[len(bad)-SectorSize+500] ^= 1
			if _, err := VerifyWith(bad, k.Public()); !errors.Is(err, ErrBadSignature) {
				t.Errorf("changed block: %v, want ErrBadSignature", err)
			}
			if _, err := VerifyWith(img, k.Public()); !errors.Is(err, ErrUnsigned) {
				t.Errorf("unsigned image: %v, want ErrUnsigned", err)
			}
		})
	}
}

func TestThreeSignatures(t *testing.T) {
	t.Parallel()
	img := testImage(t, 300)
	a, b, c := testKey(t, "rsa3072.pem"), testKey(t, "ecdsa256.pem"), testKey(t, "rsa3072-b.pem")
	signed, err := Sign(rand.Reader, img, a, b)
	if err != nil {
		t.Fatal(err)
	}
	signed, err = Sign(rand.Reader, signed, c) // appends
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := Signatures(signed)
	if err != nil || len(blocks) != 3 {
		t.Fatalf("Signatures = %d blocks, %v", len(blocks), err)
	}
	for i, k := range []crypto.Signer{a, b, c} {
		blk, err := VerifyWith(signed, k.Public())
		if err != nil {
			t.Errorf("key %d: %v", i, err)
			continue
		}
		if blk != nil && blk.Scheme.String() == "" {
			t.Error("no scheme")
		}
	}
	sector := signed[len(signed)-SectorSize:]
	if !bytes.Equal(sector[3*SigBlockSize:], bytes.Repeat([]byte{0xFF}, SectorSize-3*SigBlockSize)) {
		t.Error("rest of the signature sector is not erased flash")
	}
	if _, err := Sign(rand.Reader, signed, a); !errors.Is(err, ErrTooManySignatures) {
		t.Errorf("fourth signature: %v", err)
	}
	if _, err := Sign(rand.Reader, img, a, b, c, a); !errors.Is(err, ErrTooManySignatures) {
		t.Errorf("four at once: %v", err)
	}
	// The RSA-only schemes of an ESP32-C3 skip the ECDSA block.
	if _, err := Verify(signed, VerifyOptions{Keys: []any{b.Public()}, Schemes: ESP32C3.SignatureSchemes()}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("ECDSA on ESP32-C3: %v", err)
	}
}

func TestWrongKeys(t *testing.T) {
	t.Parallel()
	k := testKey(t, "rsa3072.pem")
	b, _ := os.ReadFile("testdata/rsa2048.pem")
	if _, err := ParsePrivateKey(b); !errors.Is(err, ErrKey) {
		t.Errorf("RSA-2048: %v", err)
	}
	pub, _ := os.ReadFile("testdata/rsa3072-pub.pem")
	if _, err := ParsePrivateKey(pub); !errors.Is(err, ErrKey) {
		t.Errorf("public key as private: %v", err)
	}
	if p, err := ParsePublicKey(pub); err != nil || !p.(*rsa.PublicKey).Equal(k.Public()) {
		t.Errorf("ParsePublicKey: %v", err)
	}
	b, _ = os.ReadFile("testdata/ecdsa256-params.pem")
	if _, err := ParsePrivateKey(b); err != nil {
		t.Errorf("EC key with parameters block: %v", err)
	}
	if _, err := ParsePrivateKey([]byte("not pem")); !errors.Is(err, ErrKey) {
		t.Errorf("garbage: %v", err)
	}
}

// TestKeyDigestBothWays computes the eFuse digest of each key twice more,
// independently of KeyDigest: from the documented block layout by hand
// (with M' by Newton's iteration instead of a modular inverse) and from the
// bytes of a signed image's block, offsets 36 to 812 (RSA) or 36 to 101
// (ECDSA).
func TestKeyDigestBothWays(t *testing.T) {
	t.Parallel()
	img := testImage(t, 100)
	for _, name := range []string{"rsa3072.pem", "ecdsa256.pem"} {
		k := testKey(t, name)
		got, err := KeyDigest(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		var manual []byte
		end := 812
		switch pub := k.Public().(type) {
		case *rsa.PublicKey:
			manual = append(manual, leBytes(pub.N, 384)...)
			manual = binary.LittleEndian.AppendUint32(manual, uint32(pub.E))
			r := new(big.Int).Exp(big.NewInt(2), big.NewInt(6144), pub.N)
			manual = append(manual, leBytes(r, 384)...)
			n0 := uint32(pub.N.Uint64())
			inv := n0 // Newton: inv = inv*(2-n0*inv) doubles the correct bits
			for range 5 {
				inv *= 2 - n0*inv
			}
			manual = binary.LittleEndian.AppendUint32(manual, -inv)
		case *ecdsa.PublicKey:
			pt, _ := pub.Bytes()
			manual = append([]byte{2}, reversed(pt[1:33])...)
			manual = append(manual, reversed(pt[33:65])...)
			end = 101
		}
		if want := sha256.Sum256(manual); got != want {
			t.Errorf("%s: KeyDigest %x, by hand %x", name, got, want)
		}
		signed, err := Sign(rand.Reader, img, k)
		if err != nil {
			t.Fatal(err)
		}
		blk := signed[len(signed)-SectorSize:]
		if want := sha256.Sum256(blk[36:end]); got != want {
			t.Errorf("%s: KeyDigest %x, from the signed block %x", name, got, want)
		}
	}
}

func leBytes(x *big.Int, n int) []byte { return reversed(x.FillBytes(make([]byte, n))) }

func reversed(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

// TestOpenSSL checks both directions against OpenSSL as an independent
// implementation of RSA-PSS and ECDSA: OpenSSL verifies the signatures
// trustforge writes, and a signature block assembled by hand from the
// documented table around OpenSSL's signature verifies here.
func TestOpenSSL(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed (apt-get install -y openssl)")
	}
	dir := t.TempDir()
	img := padTo(testImage(t, 3000), SectorSize)
	digest := sha256.Sum256(img)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(args ...string) []byte {
		out, err := exec.Command("openssl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
		return out
	}
	dgst := write("digest", digest[:])
	pss := []string{"-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:32", "-pkeyopt", "digest:sha256"}
	for _, tc := range []struct{ key, pub string }{{"rsa3072.pem", "rsa3072-pub.pem"}, {"ecdsa256.pem", "ecdsa256-pub.pem"}} {
		k := testKey(t, tc.key)
		isRSA := tc.key == "rsa3072.pem"
		keyPath, _ := filepath.Abs(filepath.Join("testdata", tc.key))
		pubPath, _ := filepath.Abs(filepath.Join("testdata", tc.pub))

		// trustforge signs, OpenSSL verifies.
		signed, err := Sign(rand.Reader, img, k)
		if err != nil {
			t.Fatal(err)
		}
		blk := signed[len(img):]
		var sig []byte
		if isRSA {
			sig = reversed(blk[812 : 812+384])
		} else {
			der, _ := asn1.Marshal(struct{ R, S *big.Int }{
				new(big.Int).SetBytes(reversed(blk[101:133])), new(big.Int).SetBytes(reversed(blk[133:165]))})
			sig = der
		}
		args := []string{"pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-in", dgst, "-sigfile", write("sig", sig)}
		if isRSA {
			args = append(args, pss...)
		}
		run(args...)

		// OpenSSL signs, the block is assembled by hand, trustforge verifies.
		args = []string{"pkeyutl", "-sign", "-inkey", keyPath, "-in", dgst, "-out", filepath.Join(dir, "osig")}
		if isRSA {
			args = append(args, pss...)
		}
		run(args...)
		osig, _ := os.ReadFile(filepath.Join(dir, "osig"))
		block := make([]byte, 1216)
		block[0] = 0xE7
		copy(block[4:36], digest[:])
		if isRSA {
			block[1] = 0x02
			pub := k.Public().(*rsa.PublicKey)
			copy(block[36:420], leBytes(pub.N, 384))
			binary.LittleEndian.PutUint32(block[420:], uint32(pub.E))
			r := new(big.Int).Exp(big.NewInt(2), big.NewInt(6144), pub.N)
			copy(block[424:808], leBytes(r, 384))
			m := new(big.Int).ModInverse(pub.N, new(big.Int).Lsh(big.NewInt(1), 32))
			binary.LittleEndian.PutUint32(block[808:], -uint32(m.Uint64()))
			copy(block[812:1196], reversed(osig))
		} else {
			block[1] = 0x03
			block[36] = 2
			pt, _ := k.Public().(*ecdsa.PublicKey).Bytes()
			copy(block[37:69], reversed(pt[1:33]))
			copy(block[69:101], reversed(pt[33:65]))
			var rs struct{ R, S *big.Int }
			if _, err := asn1.Unmarshal(osig, &rs); err != nil {
				t.Fatal(err)
			}
			copy(block[101:133], leBytes(rs.R, 32))
			copy(block[133:165], leBytes(rs.S, 32))
		}
		binary.LittleEndian.PutUint32(block[1196:], crc32.ChecksumIEEE(block[:1196]))
		foreign := append(append([]byte(nil), img...), block...)
		foreign = append(foreign, bytes.Repeat([]byte{0xFF}, SectorSize-len(block))...)
		if _, err := VerifyWith(foreign, k.Public()); err != nil {
			t.Errorf("%s: a block made by hand around OpenSSL's signature: %v", tc.key, err)
		}
	}
}

func TestGenerateMarshal(t *testing.T) {
	t.Parallel()
	for _, s := range []Scheme{ECDSAP256, RSA3072} {
		if testing.Short() && s == RSA3072 {
			continue
		}
		k, err := GenerateKey(rand.Reader, s)
		if err != nil {
			t.Fatal(err)
		}
		pemKey, err := MarshalPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		k2, err := ParsePrivateKey(pemKey)
		if err != nil {
			t.Fatal(err)
		}
		pemPub, _ := MarshalPublicKey(k.Public())
		p, err := ParsePublicKey(pemPub)
		if err != nil {
			t.Fatal(err)
		}
		d1, _ := KeyDigest(k2.Public())
		d2, _ := KeyDigest(p)
		if d1 != d2 {
			t.Errorf("%v: digests differ after a PEM round trip", s)
		}
		if sc, _ := SchemeOf(p); sc != s {
			t.Errorf("SchemeOf = %v, want %v", sc, s)
		}
	}
}
