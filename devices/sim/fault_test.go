package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"trustforge/devices/smp"
)

// TestLinkDropResumes pulls the link at several points of an upload; running
// the same upload again goes on from the board's offset, and the result
// boots.
func TestLinkDropResumes(t *testing.T) {
	for _, after := range []int64{300, 6000, 40000} {
		t.Run("", func(t *testing.T) {
			b, _ := provisioned(t, Config{BufSize: 512})
			c := connect(t, b, &smp.Options{Timeout: 400 * time.Millisecond, Retries: 1})
			img := makeImage(t, imageSpec{version: "1.1.0", key: "ed25519.pem", counter: ctr(2), size: 30000})
			if err := b.Inject(Fault{Kind: DropLink, After: after}); err != nil {
				t.Fatal(err)
			}
			_, err := c.Upload(context.Background(), img, nil)
			if !errors.Is(err, smp.ErrTimeout) {
				t.Fatalf("upload over a pulled link = %v, want a timeout", err)
			}
			b.mu.Lock()
			held := b.upload.off
			b.mu.Unlock()
			b.RestoreLink()

			res, err := c.Upload(context.Background(), img, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Start != held || held == 0 && after > 1000 {
				t.Errorf("second run started at %d, the board held %d", res.Start, held)
			}
			if _, err := c.TestImage(context.Background(), imageHash(t, img)); err != nil {
				t.Fatal(err)
			}
			if r := resetAndWait(t, b, c); r.Version.String() != "1.1.0+0" {
				t.Errorf("the resumed upload does not boot: %+v", r)
			}
		})
	}
}

func TestFaultsWithinOneUpload(t *testing.T) {
	tests := []struct {
		name    string
		fault   Fault
		rewinds bool
	}{
		{"link glitch", Fault{Kind: DropLink, After: 5000, For: 30 * time.Millisecond}, true},
		{"corrupt request", Fault{Kind: CorruptRequest, Nth: 4}, true},
		{"corrupt answer", Fault{Kind: CorruptAnswer, Nth: 3}, true},
		{"slow answers", Fault{Kind: SlowAnswers, For: 5 * time.Millisecond}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := provisioned(t, Config{BufSize: 512})
			c := connect(t, b, &smp.Options{Timeout: 500 * time.Millisecond, Retries: 3})
			img := makeImage(t, imageSpec{version: "1.1.0", key: "ed25519.pem", counter: ctr(2), size: 20000})
			if err := b.Inject(tt.fault); err != nil {
				t.Fatal(err)
			}
			res, err := c.Upload(context.Background(), img, nil)
			if err != nil {
				t.Fatal(err)
			}
			if (res.Rewinds > 0) != tt.rewinds {
				t.Errorf("rewinds = %d", res.Rewinds)
			}
			if !res.Checked {
				t.Error("the board did not confirm the upload's SHA-256")
			}
		})
	}
}

// TestPowerCutDuringUpload cuts power mid-upload: the board forgets the
// upload (it was in RAM), so the next run starts over, and still boots.
func TestPowerCutDuringUpload(t *testing.T) {
	b, v1 := provisioned(t, Config{BufSize: 512})
	c := connect(t, b, &smp.Options{Timeout: 400 * time.Millisecond, Retries: 1})
	img := makeImage(t, imageSpec{version: "1.1.0", key: "ed25519.pem", counter: ctr(2), size: 30000})
	boots := b.Running().Boots
	if err := b.Inject(Fault{Kind: CutPower, After: 9000, For: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upload(context.Background(), img, nil); !errors.Is(err, smp.ErrTimeout) {
		t.Fatalf("upload through a power cut = %v, want a timeout", err)
	}
	r := waitRunning(t, b, boots+1)
	if !sameHash(r.Hash, imageHash(t, v1)) {
		t.Fatalf("after the power cut the board runs %+v", r)
	}
	res, err := c.Upload(context.Background(), img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Start != 0 {
		t.Errorf("resumed at %d after a power cut; the board could not have kept it", res.Start)
	}
	if _, err := c.TestImage(context.Background(), imageHash(t, img)); err != nil {
		t.Fatal(err)
	}
	if r := resetAndWait(t, b, c); r.Version.String() != "1.1.0+0" {
		t.Errorf("the upload after the power cut does not boot: %+v", r)
	}
}

func TestUploadOfWholeImageAgainIsInstant(t *testing.T) {
	b, _ := provisioned(t, Config{})
	c := connect(t, b, nil)
	img := makeImage(t, imageSpec{version: "1.1.0", key: "ed25519.pem", counter: ctr(2)})
	upload(t, c, img)
	res, err := c.Upload(context.Background(), img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 1 || !res.Checked {
		t.Errorf("uploading the same image again took %d requests (checked %v), want 1", res.Requests, res.Checked)
	}
}
