package sim

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"trustforge/crypto/keys"
	"trustforge/devices/smp"
)

// provisioned returns a board that trusts the Ed25519 test key and holds
// the X25519 decryption key, running a confirmed 1.0.0 with security counter 1.
func provisioned(t *testing.T, cfg Config) (*Board, []byte) {
	t.Helper()
	cfg.BootKeys = []*keys.PublicKey{pubKey(t, "ed25519-pub.pem")}
	cfg.EncKey = privKey(t, "x25519-enc.pem")
	b := newBoard(t, cfg)
	v1 := makeImage(t, imageSpec{version: "1.0.0", key: "ed25519.pem", counter: ctr(1)})
	if err := b.Program(v1); err != nil {
		t.Fatal(err)
	}
	r := b.Running()
	if r.Recovery || r.Version.String() != "1.0.0+0" || !r.Confirmed {
		t.Fatalf("after programming 1.0.0 the board runs %+v; boot log:\n%s", r, strings.Join(b.BootLog(), "\n"))
	}
	return b, v1
}

func upload(t *testing.T, c *smp.Client, img []byte) {
	t.Helper()
	if _, err := c.Upload(context.Background(), img, nil); err != nil {
		t.Fatal(err)
	}
}

func resetAndWait(t *testing.T, b *Board, c *smp.Client) Running {
	t.Helper()
	boots := b.Running().Boots
	if err := c.Reset(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	return waitRunning(t, b, boots+1)
}

func TestTestSwapRevertConfirm(t *testing.T) {
	for _, enc := range []bool{false, true} {
		name := map[bool]string{false: "signed", true: "signed and encrypted"}[enc]
		t.Run(name, func(t *testing.T) {
			b, v1 := provisioned(t, Config{})
			c := connect(t, b, nil)
			ctx := context.Background()
			spec := imageSpec{version: "1.1.0", key: "ed25519.pem", counter: ctr(2)}
			if enc {
				spec.encTo = "x25519-enc-pub.pem"
			}
			v2 := makeImage(t, spec)
			upload(t, c, v2)
			st, err := c.TestImage(ctx, imageHash(t, v2))
			if err != nil {
				t.Fatal(err)
			}
			if len(st) != 2 || !st[1].Pending || st[1].Permanent || !st[0].Active || !st[0].Confirmed {
				t.Fatalf("state after test: %v", st)
			}

			// Test boot: the new image runs, unconfirmed.
			r := resetAndWait(t, b, c)
			if r.Version.String() != "1.1.0+0" || r.Confirmed {
				t.Fatalf("after the test reset the board runs %+v; boot log:\n%s", r, strings.Join(b.BootLog(), "\n"))
			}
			st, _ = c.ImageState(ctx)
			if !st[0].Active || st[0].Confirmed || !st[1].Confirmed || st[1].Version != "1.0.0" {
				t.Errorf("state while testing: %v", st)
			}
			// Another upload is refused while the old image is needed.
			if _, err := c.Upload(ctx, v1, nil); !smp.IsRC(err, smp.RCBadState) {
				t.Errorf("upload while testing = %v, want MGMT_ERR_EBADSTATE", err)
			}

			// Reset without confirming: back to 1.0.0.
			r = resetAndWait(t, b, c)
			if r.Version.String() != "1.0.0+0" || !r.Confirmed {
				t.Fatalf("after the revert the board runs %+v", r)
			}
			if b.SecurityCounter() != 1 {
				t.Errorf("security counter %d after a revert, want 1", b.SecurityCounter())
			}

			// Test again, confirm, reset: it stays.
			if _, err := c.TestImage(ctx, imageHash(t, v2)); err != nil {
				t.Fatal(err)
			}
			resetAndWait(t, b, c)
			if _, err := c.ConfirmImage(ctx, nil); err != nil {
				t.Fatal(err)
			}
			r = resetAndWait(t, b, c)
			if r.Version.String() != "1.1.0+0" || !r.Confirmed {
				t.Fatalf("after confirm and reset the board runs %+v", r)
			}
			if b.SecurityCounter() != 2 {
				t.Errorf("security counter %d after confirming counter 2", b.SecurityCounter())
			}
		})
	}
}

func TestPermanentSwap(t *testing.T) {
	b, _ := provisioned(t, Config{})
	c := connect(t, b, nil)
	v2 := makeImage(t, imageSpec{version: "2.0.0", key: "ed25519.pem", counter: ctr(3)})
	upload(t, c, v2)
	st, err := c.ConfirmImage(context.Background(), imageHash(t, v2))
	if err != nil {
		t.Fatal(err)
	}
	if !st[1].Pending || !st[1].Permanent {
		t.Errorf("state after confirming slot 1: %v", st)
	}
	if r := resetAndWait(t, b, c); r.Version.String() != "2.0.0+0" || !r.Confirmed {
		t.Errorf("after a permanent swap the board runs %+v", r)
	}
	if r := resetAndWait(t, b, c); r.Version.String() != "2.0.0+0" {
		t.Errorf("the permanent image did not stay: %+v", r)
	}
}

// TestBadImagesNeverRun uploads images the bootloader must refuse: the old
// image keeps running and the boot log says why.
func TestBadImagesNeverRun(t *testing.T) {
	tampered := makeImage(t, imageSpec{version: "1.5.0", key: "ed25519.pem", counter: ctr(2)})
	tampered[0x200+100] ^= 0x01
	tests := []struct {
		name string
		img  []byte
		want string
	}{
		{"tampered", tampered, "hash does not match"},
		{"wrongly signed", makeImage(t, imageSpec{version: "1.5.0", key: "ecdsa-p256.pem", counter: ctr(2)}), "not signed by the given key"},
		{"unsigned", makeImage(t, imageSpec{version: "1.5.0", counter: ctr(2)}), "not signed"},
		{"rolled back", makeImage(t, imageSpec{version: "0.9.0", key: "ed25519.pem", counter: ctr(0)}), "security counter 0 is lower than the board's 1"},
		{"encrypted to another board", makeImage(t, imageSpec{version: "1.5.0", key: "ed25519.pem", counter: ctr(2), encTo: "ecdsa-p256-pub.pem"}), "decryption key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, v1 := provisioned(t, Config{})
			c := connect(t, b, nil)
			upload(t, c, tt.img)
			if _, err := c.TestImage(context.Background(), imageHash(t, tt.img)); err != nil {
				t.Fatal(err)
			}
			r := resetAndWait(t, b, c)
			if !sameHash(r.Hash, imageHash(t, v1)) || !r.Confirmed {
				t.Errorf("the board runs %+v, want 1.0.0", r)
			}
			log := strings.Join(b.BootLog(), "\n")
			if !strings.Contains(log, "Image in the secondary slot is not valid") || !strings.Contains(log, tt.want) {
				t.Errorf("boot log does not say %q:\n%s", tt.want, log)
			}
			st, _ := c.ImageState(context.Background())
			if len(st) != 1 {
				t.Errorf("the refused image was not erased: %v", st)
			}
		})
	}
}

func TestImgtoolVectors(t *testing.T) {
	b := newBoard(t, Config{
		SlotSize: 0x40000,
		BootKeys: []*keys.PublicKey{pubKey(t, "ed25519-pub.pem")},
		EncKey:   privKey(t, "x25519-enc.pem"),
	})
	c := connect(t, b, nil)
	for _, name := range []string{"app-ed25519.signed.bin", "app-ed25519-encx25519.signed.bin"} {
		img := readKey(t, name)
		if err := b.Program(makeImage(t, imageSpec{version: "0.1.0", key: "ed25519.pem"})); err != nil {
			t.Fatal(err)
		}
		waitRunning(t, b, 1)
		upload(t, c, img)
		if _, err := c.ConfirmImage(context.Background(), imageHash(t, img)); err != nil {
			t.Fatal(err)
		}
		r := resetAndWait(t, b, c)
		if r.Version.String() != "1.2.3+4" {
			t.Errorf("%s: the board runs %+v; boot log:\n%s", name, r, strings.Join(b.BootLog(), "\n"))
		}
	}
}

func TestUnprovisionedBoard(t *testing.T) {
	b := newBoard(t, Config{})
	if !b.Running().Recovery {
		t.Fatalf("a blank board runs %+v, want serial recovery", b.Running())
	}
	c := connect(t, b, nil)
	img := makeImage(t, imageSpec{version: "3.0.0"})
	// Serial recovery uploads straight into the primary slot.
	upload(t, c, img)
	r := resetAndWait(t, b, c)
	if r.Recovery || r.Version.String() != "3.0.0+0" {
		t.Fatalf("after a recovery upload the board runs %+v", r)
	}
	if log := strings.Join(b.BootLog(), "\n"); !strings.Contains(log, "No boot key provisioned") {
		t.Errorf("boot log does not warn of the missing boot key:\n%s", log)
	}
}

func TestFlashFileKeepsImages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "board.flash")
	b, err := New(Config{FlashFile: path, SlotSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	img := makeImage(t, imageSpec{version: "4.5.6"})
	if err := b.Program(img); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b2 := newBoard(t, Config{FlashFile: path, SlotSize: 64 << 10})
	if r := b2.Running(); r.Version.String() != "4.5.6+0" {
		t.Errorf("a new board on the same flash runs %+v", r)
	}
}
