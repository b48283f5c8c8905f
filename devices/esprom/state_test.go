package esprom

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// blankEfuses is a chip as it leaves the factory: MAC in block 1, nothing
// else burned.
func blankEfuses() *Efuses {
	e := &Efuses{}
	for n := range e.Blocks {
		_, nw := EfuseBlockAddr(n)
		e.Blocks[n] = make([]uint32, nw)
	}
	e.Blocks[1][0], e.Blocks[1][1] = 0x79000001, 0x58cf
	return e
}

// apply programs b into e as the controller would (bits only set).
func apply(e *Efuses, b *Burn) {
	for i, w := range b.Block0 {
		e.Blocks[0][i] |= w
	}
	if b.KeyBlock != 0 {
		for i := range 8 {
			e.Blocks[b.KeyBlock][i] |= uint32(b.Key[4*i]) | uint32(b.Key[4*i+1])<<8 | uint32(b.Key[4*i+2])<<16 | uint32(b.Key[4*i+3])<<24
		}
	}
	if b.Block0[1]&(0x3f) != 0 { // RD_DIS: the key reads as zeros from now on
		for k := range 6 {
			if b.Block0[1]>>k&1 == 1 {
				clear(e.Blocks[4+k])
			}
		}
	}
}

func TestStateFollowsBurns(t *testing.T) {
	e := blankEfuses()
	s := e.State("ESP32-C3")
	if s.SecureBoot || s.FlashEncryption || len(s.KeyBlocks) != 6 || s.KeyBlocks[0].Purpose != "USER" {
		t.Fatalf("blank chip: %+v", s)
	}
	digest := make([]byte, 32)
	for i := range digest {
		digest[i] = byte(i)
	}
	steps := []func() (*Burn, error){
		func() (*Burn, error) { return PlanKey(e, PurposeSecureBootDigest, digest, false) },
		func() (*Burn, error) { return PlanSecureBoot(e) },
		func() (*Burn, error) { return PlanKey(e, PurposeXTSAES128, make([]byte, 32), true) },
		func() (*Burn, error) { return PlanFlashEncryption(e, false) },
		func() (*Burn, error) {
			return PlanProtections(e, Protections{JTAG: true, DownloadEncryption: true, DirectBoot: true, ReadProtection: true})
		},
	}
	prior := s
	for i, step := range steps {
		b, err := step()
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		apply(e, b)
		now := e.State("ESP32-C3")
		if err := now.Validate(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if err := now.Regresses(prior); err != nil {
			t.Errorf("step %d: a burn regresses: %v", i, err)
		}
		if err := prior.Regresses(now); i > 0 && err == nil {
			t.Errorf("step %d: going back to the state before passes", i)
		}
		prior = now
	}
	want := SecurityState{Chip: "ESP32-C3", SecureBoot: true, FlashCryptCnt: 1, FlashEncryption: true,
		ManualEncryptDisabled: true, DownloadICacheOff: true, JTAGDisabled: true, DirectBootDisabled: true, ReadProtectionLocked: true}
	got := prior
	kb := got.KeyBlocks
	got.KeyBlocks = nil
	if !equalJSON(got, want) {
		t.Errorf("state = %+v\nwant %+v", got, want)
	}
	if kb[0].Purpose != "SECURE_BOOT_DIGEST0" || kb[0].Digest != "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" ||
		!kb[0].WriteProtected || kb[0].ReadProtected {
		t.Errorf("BLOCK_KEY0 = %+v", kb[0])
	}
	if kb[1].Purpose != "XTS_AES_128_KEY" || kb[1].Digest != "" || !kb[1].ReadProtected {
		t.Errorf("BLOCK_KEY1 = %+v: a flash encryption key is recorded only as read-protected", kb[1])
	}
	if _, err := PlanProtections(e, Protections{JTAG: true}); !errors.Is(err, ErrEfuse) {
		t.Errorf("protections already set: %v, want ErrEfuse", err)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestParseStateRefuses(t *testing.T) {
	good, _ := json.Marshal(blankEfuses().State("ESP32-C3"))
	if _, err := ParseState(good); err != nil {
		t.Fatalf("a chip's own state: %v", err)
	}
	edit := func(f func(*SecurityState)) string {
		s := blankEfuses().State("ESP32-C3")
		f(&s)
		b, _ := json.Marshal(s)
		return string(b)
	}
	for _, tt := range []struct{ name, in, want string }{
		{"not JSON", "{", "unexpected EOF"},
		{"unknown field", strings.Replace(string(good), `{`, `{"x":1,`, 1), "unknown field"},
		{"trailing data", string(good) + "{}", "data after"},
		{"no chip", edit(func(s *SecurityState) { s.Chip = "" }), "chip"},
		{"count too large", edit(func(s *SecurityState) { s.FlashCryptCnt = 8 }), "3 bits"},
		{"count and flag disagree", edit(func(s *SecurityState) { s.FlashCryptCnt = 3; s.FlashEncryption = true }), "disagrees"},
		{"key source", edit(func(s *SecurityState) { s.FlashKeySource = "server" }), "flash_key_source"},
		{"five key blocks", edit(func(s *SecurityState) { s.KeyBlocks = s.KeyBlocks[:5] }), "5 key blocks"},
		{"blocks out of order", edit(func(s *SecurityState) { s.KeyBlocks[1].Block = 3 }), "listed as 3"},
		{"unknown purpose", edit(func(s *SecurityState) { s.KeyBlocks[2].Purpose = "MAGIC" }), "unknown purpose"},
		{"a flash key's bytes", edit(func(s *SecurityState) {
			s.KeyBlocks[0].Purpose, s.KeyBlocks[0].Digest = "XTS_AES_128_KEY", strings.Repeat("ab", 32)
		}), "never recorded"},
		{"short digest", edit(func(s *SecurityState) {
			s.KeyBlocks[0].Purpose, s.KeyBlocks[0].Digest = "SECURE_BOOT_DIGEST0", "abcd"
		}), "64 lowercase"},
		{"revoked slot 3", edit(func(s *SecurityState) { s.RevokedDigests = []int{3} }), "revoked_digests"},
		{"too large", `{"chip":"` + strings.Repeat("x", 5000) + `"}`, "4 KiB"},
	} {
		_, err := ParseState([]byte(tt.in))
		if !errors.Is(err, ErrBadState) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want ErrBadState mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestRegressesNamesWhatWasLost(t *testing.T) {
	prior := blankEfuses().State("ESP32-C3")
	prior.SecureBoot, prior.FlashCryptCnt, prior.FlashEncryption, prior.FlashKeySource = true, 1, true, KeySourceUploaded
	prior.KeyBlocks[0].Purpose, prior.KeyBlocks[0].Digest = "SECURE_BOOT_DIGEST0", strings.Repeat("ab", 32)
	for _, tt := range []struct {
		name string
		f    func(*SecurityState)
		want string
	}{
		{"secure boot off", func(s *SecurityState) { s.SecureBoot = false }, "SECURE_BOOT_EN"},
		{"count bit cleared", func(s *SecurityState) { s.FlashCryptCnt, s.FlashEncryption = 2, true }, "SPI_BOOT_CRYPT_CNT"},
		{"purpose changed", func(s *SecurityState) { s.KeyBlocks[0].Purpose = "USER"; s.KeyBlocks[0].Digest = "" }, "KEY_PURPOSE_0"},
		{"digest changed", func(s *SecurityState) { s.KeyBlocks[0].Digest = strings.Repeat("cd", 32) }, "digest"},
		{"other chip", func(s *SecurityState) { s.Chip = "ESP32-S3" }, "chip"},
		{"key source changed", func(s *SecurityState) { s.FlashKeySource = KeySourceDevice }, "key source"},
	} {
		s := prior
		s.KeyBlocks = append([]KeyBlockState(nil), prior.KeyBlocks...)
		tt.f(&s)
		if err := s.Regresses(prior); !errors.Is(err, ErrBadState) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want ErrBadState naming %q", tt.name, err, tt.want)
		}
	}
	same := prior
	same.FlashKeySource = ""
	if err := prior.Regresses(same); err != nil {
		t.Errorf("learning the key source: %v", err)
	}
}

func FuzzParseState(f *testing.F) {
	good, _ := json.Marshal(blankEfuses().State("ESP32-C3"))
	f.Add(good)
	f.Add([]byte(`{"chip":"ESP32-C3","key_blocks":[]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseState(b)
		if err != nil {
			return
		}
		// What parses re-encodes to something that parses the same, and
		// no state regresses from itself.
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ParseState(again)
		if err != nil || !equalJSON(s, s2) {
			t.Fatalf("re-parsed %+v, %v", s2, err)
		}
		if err := s.Regresses(s); err != nil {
			t.Fatalf("a state regresses from itself: %v", err)
		}
	})
}

func TestNextBurnWalksTheProfile(t *testing.T) {
	e := blankEfuses()
	digest := bytes.Repeat([]byte{0x5a}, 32)
	p := Provisioning{SecureBootDigest: digest, SecureBootSlot: 1, SecureBoot: true, FlashKeySource: KeySourceUploaded,
		Protections: Protections{JTAG: true, DownloadEncryption: true}}
	var steps []string
	for range 10 {
		b, err := NextBurn(e, p, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			break
		}
		steps = append(steps, b.What)
		apply(e, b)
	}
	want := []string{"burn a SECURE_BOOT_DIGEST1 key into BLOCK_KEY0", "enable Secure Boot v2",
		"burn a XTS_AES_128_KEY key into BLOCK_KEY1", "enable flash encryption", "set the read and write protections"}
	if strings.Join(steps, "; ") != strings.Join(want, "; ") {
		t.Errorf("steps:\n%s\nwant\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
	s := e.State("ESP32-C3")
	if !s.SecureBoot || !s.FlashEncryption || !s.JTAGDisabled || !s.ManualEncryptDisabled || s.KeyBlocks[0].Digest != hex.EncodeToString(digest) {
		t.Errorf("after the profile: %+v", s)
	}

	// A board provisioned for another key is refused, not burned again.
	other := p
	other.SecureBootDigest = bytes.Repeat([]byte{0x11}, 32)
	if _, err := NextBurn(e, other, rand.Reader); !errors.Is(err, ErrEfuse) || !strings.Contains(err.Error(), "another") {
		t.Errorf("another key: %v", err)
	}
	// The device draws its own key: nothing to burn for it.
	dev := blankEfuses()
	if b, err := NextBurn(dev, Provisioning{FlashKeySource: KeySourceDevice}, rand.Reader); b != nil || err != nil {
		t.Errorf("device key source: %v, %v; want nothing to burn", b, err)
	}
}

// TestStateErrorProblem: a bad or regressed state says what is wrong in
// Problem, without the package's words, for the server to pass on.
func TestStateErrorProblem(t *testing.T) {
	_, err := ParseState([]byte(`{"chip":"ESP32-C3","flash_crypt_cnt":9}`))
	var se *StateError
	if !errors.As(err, &se) || se.Problem != "flash_crypt_cnt 9: SPI_BOOT_CRYPT_CNT has 3 bits" {
		t.Errorf("ParseState: %v, want a StateError with the problem alone", err)
	}
	if !errors.Is(err, ErrBadState) || err.Error() != "esprom: eFuse state: "+se.Problem {
		t.Errorf("Error() = %q", err)
	}
	_, err = ParseState([]byte(`{"chip":"ESP32-C3"} {}`))
	if !errors.As(err, &se) || se.Problem != "data after the object" {
		t.Errorf("trailing data: %v", err)
	}
}
