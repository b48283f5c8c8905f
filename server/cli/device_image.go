package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/devices/smp"
)

// imageCommand returns the `device image ...` command named by args.
func imageCommand(f *deviceFlags, args []string) (func(*device, context.Context) error, error) {
	if len(args) == 0 {
		return nil, usageErrorf("image needs a command: list, upload, test, confirm or erase")
	}
	sub, rest := args[0], args[1:]
	want := func(min, max int, names string) error {
		if len(rest) < min || len(rest) > max {
			return usageErrorf("image %s takes %s", sub, names)
		}
		return nil
	}
	switch sub {
	case "list":
		if err := want(0, 0, "no arguments"); err != nil {
			return nil, err
		}
		return (*device).imageList, nil
	case "upload":
		if err := want(1, 1, "one FILE"); err != nil {
			return nil, err
		}
		return func(d *device, ctx context.Context) error { return d.imageUpload(ctx, rest[0]) }, nil
	case "test":
		if err := want(1, 1, "one HASH"); err != nil {
			return nil, err
		}
		return func(d *device, ctx context.Context) error { return d.imageState(ctx, rest[0], false) }, nil
	case "confirm":
		if err := want(0, 1, "at most one HASH"); err != nil {
			return nil, err
		}
		h := ""
		if len(rest) == 1 {
			h = rest[0]
		}
		return func(d *device, ctx context.Context) error { return d.imageState(ctx, h, true) }, nil
	case "erase":
		if err := want(0, 0, "no arguments (--slot N picks the slot)"); err != nil {
			return nil, err
		}
		return func(d *device, ctx context.Context) error { return d.imageErase(ctx, f.slot) }, nil
	}
	return nil, usageErrorf("unknown image command %q: want list, upload, test, confirm or erase", sub)
}

func (d *device) printImages(imgs []smp.SlotImage) {
	if len(imgs) == 0 {
		fmt.Fprintln(d.env.Stdout, "no images")
	}
	for _, im := range imgs {
		flags := im.Flags()
		if flags != "" {
			flags = "  [" + flags + "]"
		}
		fmt.Fprintf(d.env.Stdout, "image %d slot %d  version %-10s hash %x%s\n", im.Image, im.Slot, im.Version, im.Hash, flags)
	}
}

func (d *device) imageList(ctx context.Context) error {
	imgs, err := d.c.ImageState(ctx)
	if err != nil {
		return err
	}
	d.printImages(imgs)
	return nil
}

func (d *device) imageState(ctx context.Context, hashArg string, confirm bool) error {
	var hash []byte
	if hashArg != "" {
		var err error
		if hash, err = d.parseHash(ctx, hashArg); err != nil {
			return err
		}
	}
	var (
		imgs []smp.SlotImage
		err  error
	)
	if confirm {
		imgs, err = d.c.ConfirmImage(ctx, hash)
	} else {
		imgs, err = d.c.TestImage(ctx, hash)
	}
	if err != nil {
		return err
	}
	d.printImages(imgs)
	return nil
}

func (d *device) imageErase(ctx context.Context, slot int) error {
	if err := d.c.EraseSlot(ctx, slot); err != nil {
		return err
	}
	fmt.Fprintf(d.env.Stdout, "slot %d erased\n", slot)
	return nil
}

// checkImage checks an image file as far as the host can: it parses, its
// hash matches, and, given keys, one of them signed it. An encrypted image's
// hash covers the plaintext, which only the board can see.
func (d *device) checkImage(path string, data []byte) (*mcuimg.Image, error) {
	img, err := mcuimg.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not an MCUboot image: %w", path, err)
	}
	if img.Encrypted() {
		fmt.Fprintf(d.env.Stderr, "note: %s is encrypted: its hash and signature cover the plaintext, which the board checks\n", path)
		return img, nil
	}
	var trusted []*keys.PublicKey
	for _, kp := range d.f.keys {
		k, err := loadPublicKey(kp)
		if err != nil {
			return img, err
		}
		trusted = append(trusted, k)
	}
	if _, err := img.Verify(mcuimg.VerifyOptions{Keys: trusted}); err != nil {
		return img, fmt.Errorf("%s fails its own check: %w", path, err)
	}
	return img, nil
}

func (d *device) imageUpload(ctx context.Context, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	img, cerr := d.checkImage(path, data)
	if cerr != nil {
		if !d.f.force {
			return fmt.Errorf("device: %w (the board would not boot it; --force uploads it anyway)", cerr)
		}
		fmt.Fprintf(d.env.Stderr, "warning: %v; uploading it anyway (--force)\n", cerr)
	}
	var hash []byte
	if img != nil {
		if img.PadSize > 0 {
			data = img.Bytes() // the slot padding and trailer are not uploaded
		}
		_, hash, _ = img.Hash()
	}

	before, err := d.c.ImageState(ctx)
	if err != nil {
		return err
	}
	if img != nil {
		for _, im := range before {
			if im.Active && versionAtLeast(im.Version, img.Version()) {
				fmt.Fprintf(d.env.Stderr, "note: the board runs %s; this image is %s, no newer: a board with anti-rollback may refuse it\n", im.Version, versionString(img.Version()))
			}
		}
	}

	bar := newProgressBar(d.env.Stderr, !d.f.noProgress)
	res, err := d.c.Upload(ctx, data, &smp.UploadOptions{
		PacketSize: d.f.packetSize,
		Window:     d.f.window,
		Upgrade:    d.f.upgrade,
		Progress:   bar.update,
	})
	bar.finish(err == nil)
	if err != nil {
		if errors.Is(err, smp.ErrTimeout) || errors.Is(err, smp.ErrLinkDown) || errors.Is(err, context.Canceled) {
			return fmt.Errorf("%w\nrun the same command again: the upload resumes where the board stopped", err)
		}
		return err
	}

	after, err := d.c.ImageState(ctx)
	if err != nil {
		return err
	}
	slot := -1
	for _, im := range after {
		if hash != nil && bytes.Equal(im.Hash, hash) {
			slot = im.Slot
		}
	}
	if hash != nil && slot < 0 {
		return fmt.Errorf("device: the upload finished but the board lists no image with hash %x", hash)
	}
	w := d.env.Stdout
	fmt.Fprintf(w, "uploaded %s: %s in %.1f s (%s/s)", path, kib(res.Size), res.Elapsed.Seconds(), kib(int64(float64(res.Size-res.Start)/max(res.Elapsed.Seconds(), 1e-9))))
	if res.Start > 0 {
		fmt.Fprintf(w, ", resumed at %s", kib(res.Start))
	}
	fmt.Fprintln(w)
	if img != nil {
		fmt.Fprintf(w, "version %s, hash %x, in slot %d\n", versionString(img.Version()), hash, slot)
		if slot == 1 {
			fmt.Fprintf(w, "next: trustforge device --port %s image test %x, then reset\n", d.f.port, hash[:8])
		} else if slot == 0 {
			fmt.Fprintf(w, "next: trustforge device --port %s reset (the board is in serial recovery: the image went straight to slot 0)\n", d.f.port)
		}
	}
	return nil
}

func kib(n int64) string { return fmt.Sprintf("%.1f KiB", float64(n)/1024) }

// versionString formats a version as boards list them: major.minor.revision
// and .build when not zero.
func versionString(v mcuimg.Version) string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Revision)
	if v.Build != 0 {
		s += fmt.Sprintf(".%d", v.Build)
	}
	return s
}

// versionAtLeast reports whether the board's version string is at least v
// (major, minor, revision).
func versionAtLeast(board string, v mcuimg.Version) bool {
	var a, b, c int
	if n, _ := fmt.Sscanf(board, "%d.%d.%d", &a, &b, &c); n != 3 {
		return false
	}
	switch {
	case a != int(v.Major):
		return a > int(v.Major)
	case b != int(v.Minor):
		return b > int(v.Minor)
	}
	return c >= int(v.Revision)
}

// shortHash is the first bytes of a hash, to name an image in a sentence.
func shortHash(h []byte) string { return hex.EncodeToString(h[:min(len(h), 8)]) }
