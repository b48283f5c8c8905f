package pki

import (
	"errors"
	"strings"
	"testing"
)

func TestESP32ProfileValidate(t *testing.T) {
	digest := strings.Repeat("ab", 32)
	good := Profile{Product: "lamp", Board: BoardESP32, ESP32: ESP32Profile{SecureBootDigest: digest, SecureBootSlot: 1,
		EnableSecureBoot: true, FlashKeySource: ESP32KeyUploaded, LockDownloadEncryption: true, DisableJTAG: true}}
	if err := good.Validate(); err != nil {
		t.Fatalf("a complete ESP32 profile: %v", err)
	}
	for _, tt := range []struct {
		name string
		f    func(*Profile)
		want string
	}{
		{"unknown board", func(p *Profile) { p.Board = "avr" }, "board"},
		{"digest in capitals", func(p *Profile) { p.ESP32.SecureBootDigest = strings.ToUpper(digest) }, "64 lowercase"},
		{"short digest", func(p *Profile) { p.ESP32.SecureBootDigest = "abcd" }, "64 lowercase"},
		{"slot 3", func(p *Profile) { p.ESP32.SecureBootSlot = 3 }, "slot"},
		{"secure boot without a digest", func(p *Profile) { p.ESP32.SecureBootDigest = "" }, "never boot"},
		{"unknown key source", func(p *Profile) { p.ESP32.FlashKeySource = "server" }, "key source"},
		{"download lock without encryption", func(p *Profile) { p.ESP32.FlashKeySource = "" }, "needs flash encryption"},
	} {
		p := good
		tt.f(&p)
		if err := p.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want ErrInvalid mentioning %q", tt.name, err, tt.want)
		}
	}
}
