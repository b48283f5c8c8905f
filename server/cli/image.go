package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"trustforge/crypto/mcuimg"
	"trustforge/crypto/mcuimg/ihex"
)

// maxHexSpan bounds the memory an Intel HEX input may expand to.
const maxHexSpan = 256 << 20

// runImage dispatches `trustforge image <verb>`.
func runImage(ctx context.Context, env Env, args []string) error {
	verbs := []struct {
		name, summary string
		run           func(context.Context, Env, []string) error
	}{
		{"sign", "sign (and encrypt) a firmware image, as imgtool sign", runImageSign},
		{"verify", "check an image's hash and signature", runImageVerify},
		{"info", "print every header field, TLV and trailer field", runImageInfo},
		{"dumpinfo", "the same as info, under imgtool's name", runImageInfo},
		{"decrypt", "decrypt an encrypted image with the device key", runImageDecrypt},
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(env.Stderr, "usage: trustforge image <sign|verify|info|dumpinfo|decrypt> [options] [args]")
		for _, v := range verbs {
			fmt.Fprintf(env.Stderr, "  %-8s %s\n", v.name, v.summary)
		}
		if len(args) == 0 {
			return usageErrorf("missing subcommand")
		}
		return nil
	}
	for _, v := range verbs {
		if v.name == args[0] {
			return v.run(ctx, env, args[1:])
		}
	}
	return usageErrorf("unknown subcommand %q (want sign, verify, info or decrypt)", args[0])
}

func isHexPath(path string) bool { return strings.EqualFold(filepath.Ext(path), ".hex") }

// readImageFile reads a binary or, for .hex paths, an Intel HEX file and
// returns its bytes and base address.
func readImageFile(path string) (data []byte, base uint32, isHex bool, err error) {
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, 0, false, err
	}
	if !isHexPath(path) {
		return data, 0, false, nil
	}
	f, err := ihex.Parse(data)
	if err != nil {
		return nil, 0, true, fmt.Errorf("%s: %w", path, err)
	}
	base, data, err = f.Binary(0xff, maxHexSpan)
	if err != nil {
		return nil, 0, true, fmt.Errorf("%s: %w", path, err)
	}
	return data, base, true, nil
}

// parseImage reads and parses an image file.
func parseImage(path string) (*mcuimg.Image, error) {
	data, _, _, err := readImageFile(path)
	if err != nil {
		return nil, err
	}
	img, err := mcuimg.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}
