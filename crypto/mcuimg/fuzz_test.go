package mcuimg

import (
	"testing"

	"trustforge/crypto/keys"
)

// FuzzParse feeds arbitrary bytes to Parse and, when they parse, to every
// reader of a parsed image. Nothing may panic.
func FuzzParse(f *testing.F) {
	ed := testPrivateKey(f, "ed25519.pem")
	ec := testPrivateKey(f, "ecdsa-p256.pem")
	x := testPrivateKey(f, "x25519-enc.pem")
	f.Add(smallImage(f, ed))
	f.Add(smallImage(f, ec))
	enc, err := Sign(make([]byte, 40), &SignOptions{Key: ed, PadHeader: true, EncryptTo: x.Public()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	padded, err := Sign(make([]byte, 40), &SignOptions{Key: ec, PadHeader: true, SlotSize: 0x1000, Align: 1, MaxSectors: 4, Confirm: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(padded)
	f.Add(readTestdata(f, "app-ed25519.signed.bin"))
	f.Add([]byte{0x3d, 0xb8, 0xf3, 0x96})
	f.Add([]byte{})
	trusted := []*keys.PublicKey{ed.Public(), ec.Public()}
	f.Fuzz(func(t *testing.T, data []byte) {
		if img, err := ParsePrefix(data); err == nil {
			_ = img.Info("fuzz")
		}
		ParseTrailer(data)
		img, err := Parse(data)
		if err != nil {
			return
		}
		_ = img.Info("fuzz")
		img.Hash()
		img.SecurityCounter()
		img.Dependencies()
		img.Verify(VerifyOptions{})
		img.Verify(VerifyOptions{Keys: trusted})
		img.Verify(VerifyOptions{Keys: trusted, DecryptionKey: x})
		img.Verify(VerifyOptions{Keys: trusted, DecryptionKey: ec})
		img.DecryptPayload(x)
		img.DecryptPayload(ec)
		if got := len(img.Bytes()) + img.PadSize; got != len(data) {
			t.Errorf("image %d + padding %d bytes, input %d", len(img.Bytes()), img.PadSize, len(data))
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.2.3+4", "0", "255.255.65535+4294967295", "1.2", "01.2", "1.2.3+", "+1", "1..2", "256"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		// A version that parses prints as one that parses to the same value.
		w, err := ParseVersion(v.String())
		if err != nil || w != v {
			t.Errorf("ParseVersion(%q) = %v; reparsing %q: %v, %v", s, v, v.String(), w, err)
		}
	})
}

func FuzzParseDependencies(f *testing.F) {
	for _, s := range []string{"(1,0.5.0+0)", "(0, 1.2.3), (1, 2.0.0+7)", "(1,0.5.0", "()", "(256,1)", "(1,1.2.3+4)(2,3)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		deps, err := ParseDependencies(s)
		if err != nil {
			return
		}
		if len(deps) == 0 {
			t.Errorf("ParseDependencies(%q) = no dependencies, no error", s)
		}
		for _, d := range deps {
			got, err := ParseDependencies(d.String())
			if err != nil || len(got) != 1 || got[0] != d {
				t.Errorf("reparsing %q: %v, %v", d.String(), got, err)
			}
		}
	})
}
