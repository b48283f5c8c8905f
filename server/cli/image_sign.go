package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"trustforge/crypto/mcuimg"
	"trustforge/crypto/mcuimg/ihex"
)

func imageSignSpecs() []optSpec {
	return []optSpec{
		{long: "key", short: "k", kind: optValue, metavar: "FILE", help: "signing key (ecdsa-p256 or ed25519 PEM); without it the image is hashed, not signed"},
		{long: "public-key-format", kind: optValue, metavar: "hash|full", help: "name the key by its hash (KEYHASH, default) or in full (PUBKEY)"},
		{long: "pure", kind: optBool, help: "Ed25519 signature over the image itself (SIG_PURE, SHA512)"},
		{long: "sha", kind: optValue, metavar: "auto|256|384|512", help: "image hash (auto: SHA256, or SHA512 with --pure)"},
		{long: "version", short: "v", kind: optValue, metavar: "VER", help: "image version major.minor.revision+build (required)"},
		{long: "header-size", short: "H", kind: optValue, metavar: "N", help: "header area size, e.g. 0x200 (required)"},
		{long: "pad-header", kind: optBool, help: "add the header area in front of the input (else the input must start with zeros)"},
		{long: "slot-size", short: "S", kind: optValue, metavar: "N", help: "slot size; images that do not fit with their trailer are refused (required)"},
		{long: "align", kind: optValue, metavar: "N", help: "flash write alignment: 1, 2, 4, 8 (default), 16 or 32"},
		{long: "max-align", kind: optValue, metavar: "N", help: "largest write alignment of the device (default max(8, --align))"},
		{long: "max-sectors", short: "M", kind: optValue, metavar: "N", help: "sectors the swap status covers (default 128)"},
		{long: "overwrite-only", kind: optBool, help: "size the trailer for overwrite-only upgrades"},
		{long: "pad", kind: optBool, help: "pad to the slot size and add the trailer magic (test swap)"},
		{long: "confirm", kind: optBool, help: "also set image_ok in the trailer (permanent swap); implies --pad"},
		{long: "encrypt", short: "E", kind: optValue, metavar: "FILE", help: "encrypt to this device key (x25519 or ecdsa-p256, public or private PEM)"},
		{long: "encrypt-keylen", kind: optValue, metavar: "128|256", help: "AES key size (default 128)"},
		{long: "clear", kind: optBool, help: "with -E: set the flag and wrap a key but leave the payload in plaintext"},
		{long: "security-counter", short: "s", kind: optValue, metavar: "auto|N", help: "add a security counter; auto derives it from the version"},
		{long: "dependencies", short: "d", kind: optValue, multi: true, metavar: "\"(ID,VER)\"", help: "depend on image ID at version VER or newer, e.g. \"(1,0.5.0+0)\""},
		{long: "custom-tlv", kind: optPair, multi: true, metavar: "TAG VALUE", help: "add a protected TLV, TAG 0xa0–0xfffe; VALUE 0x… is hex, else text"},
		{long: "load-addr", short: "L", kind: optValue, metavar: "ADDR", help: "RAM load address (sets RAM_LOAD)"},
		{long: "rom-fixed", kind: optValue, metavar: "ADDR", help: "fixed flash address (sets ROM_FIXED)"},
		{long: "non-bootable", kind: optBool, help: "mark the image non-bootable"},
		{long: "erased-val", short: "R", kind: optValue, metavar: "0|0xff", help: "value of erased flash (default 0xff)"},
		{long: "hex-addr", short: "x", kind: optValue, metavar: "ADDR", help: "address of a .hex output (default: the .hex input's)"},
		{long: "endian", short: "e", kind: optValue, metavar: "little", help: "byte order; only little is supported"},
	}
}

const imageSignSynopsis = "image sign -k KEY --version VER --header-size N --slot-size N [options] IN OUT"

// runImageSign implements `trustforge image sign`, imgtool sign's counterpart.
func runImageSign(ctx context.Context, env Env, args []string) error {
	o, err := parseOpts(env, imageSignSynopsis, imageSignSpecs(), args)
	if err != nil {
		return err
	}
	pos, err := o.positionals(2, "IN and OUT")
	if err != nil {
		return err
	}
	in, out := pos[0], pos[1]
	opts, err := signOptionsFrom(o)
	if err != nil {
		return err
	}
	var hexAddr *uint32
	if o.has("hex-addr") {
		a, err := o.integer("hex-addr", 0, 0xffffffff)
		if err != nil {
			return err
		}
		v := uint32(a)
		hexAddr = &v
	}

	var res *mcuimg.SignResult
	if isHexPath(in) || isHexPath(out) {
		res, err = signInMemory(ctx, in, out, opts, hexAddr)
	} else {
		res, err = signStreaming(ctx, in, out, opts)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: version %s, %d bytes, %s %s\n", out, opts.Version, res.Size, res.HashType.Name(), hex.EncodeToString(res.Hash))
	return nil
}

// signStreaming signs a binary file into a binary file without holding it in memory.
func signStreaming(ctx context.Context, in, out string, opts *mcuimg.SignOptions) (*mcuimg.SignResult, error) {
	f, err := os.Open(in)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var res *mcuimg.SignResult
	err = writeOutput(out, 0o644, func(w io.Writer) error {
		var err error
		res, err = mcuimg.SignTo(ctx, w, f, st.Size(), opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", in, err)
	}
	return res, nil
}

// signInMemory handles Intel HEX input or output.
func signInMemory(ctx context.Context, in, out string, opts *mcuimg.SignOptions, hexAddr *uint32) (*mcuimg.SignResult, error) {
	payload, base, inHex, err := readImageFile(in)
	if err != nil {
		return nil, err
	}
	if inHex && opts.PadHeader {
		// The header goes in front of the code, as imgtool places it.
		if base < uint32(opts.HeaderSize) {
			return nil, fmt.Errorf("%s: data starts at %#x, below the %#x-byte header to put before it", in, base, opts.HeaderSize)
		}
		base -= uint32(opts.HeaderSize)
	}
	if !isHexPath(out) {
		var res *mcuimg.SignResult
		err := writeOutput(out, 0o644, func(w io.Writer) error {
			var err error
			res, err = mcuimg.SignTo(ctx, w, strings.NewReader(string(payload)), int64(len(payload)), opts)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("sign %s: %w", in, err)
		}
		return res, nil
	}
	switch {
	case hexAddr != nil:
		base = *hexAddr
	case !inHex:
		return nil, usageErrorf("%s has no address: give --hex-addr for the .hex output", in)
	}
	// In a .hex output the slot padding is left to erased flash; only the
	// trailer's set bytes are written, as imgtool does.
	pad := opts.Pad || opts.Confirm
	unpadded := *opts
	unpadded.Pad, unpadded.Confirm = false, false
	var buf strings.Builder
	res, err := mcuimg.SignTo(ctx, &buf, strings.NewReader(string(payload)), int64(len(payload)), &unpadded)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", in, err)
	}
	segs := []ihex.Segment{{Addr: base, Data: []byte(buf.String())}}
	if pad {
		layout := mcuimg.TrailerLayout{Align: opts.Align, MaxAlign: opts.MaxAlign, MaxSectors: opts.MaxSectors, OverwriteOnly: opts.OverwriteOnly, Encrypted: opts.EncryptTo != nil}
		erased := byte(0xff)
		if opts.ErasedZero {
			erased = 0
		}
		trailer, err := layout.Encode(opts.Confirm, erased)
		if err != nil {
			return nil, err
		}
		start := base + uint32(opts.SlotSize-len(trailer))
		for i := 0; i < len(trailer); {
			if trailer[i] == erased {
				i++
				continue
			}
			j := i
			for j < len(trailer) && trailer[j] != erased {
				j++
			}
			segs = append(segs, ihex.Segment{Addr: start + uint32(i), Data: trailer[i:j]})
			i = j
		}
	}
	enc, err := ihex.Encode(segs...)
	if err != nil {
		return nil, err
	}
	if err := writeOutput(out, 0o644, func(w io.Writer) error { _, err := w.Write(enc); return err }); err != nil {
		return nil, err
	}
	return res, nil
}

// signOptionsFrom turns imgtool-style options into SignOptions.
func signOptionsFrom(o *optSet) (*mcuimg.SignOptions, error) {
	opts := &mcuimg.SignOptions{
		PadHeader:     o.flag("pad-header"),
		Pad:           o.flag("pad"),
		Confirm:       o.flag("confirm"),
		Clear:         o.flag("clear"),
		Pure:          o.flag("pure"),
		OverwriteOnly: o.flag("overwrite-only"),
		NonBootable:   o.flag("non-bootable"),
	}
	verStr, err := o.require("version")
	if err != nil {
		return nil, err
	}
	if opts.Version, err = mcuimg.ParseVersion(verStr); err != nil {
		return nil, usageErrorf("--version: %v", err)
	}
	if _, err := o.require("header-size"); err != nil {
		return nil, err
	}
	if _, err := o.require("slot-size"); err != nil {
		return nil, err
	}
	ints := []struct {
		name string
		dst  *int
		def  int64
		max  int64
	}{
		{"header-size", &opts.HeaderSize, 0, 0xffff},
		{"slot-size", &opts.SlotSize, 0, 0xffffffff},
		{"align", &opts.Align, 8, 32},
		{"max-align", &opts.MaxAlign, 0, 1024},
		{"max-sectors", &opts.MaxSectors, 0, 1 << 16},
		{"encrypt-keylen", &opts.EncryptKeyLen, 0, 256},
	}
	for _, n := range ints {
		v, err := o.integer(n.name, n.def, n.max)
		if err != nil {
			return nil, err
		}
		*n.dst = int(v)
	}
	if opts.HeaderSize < mcuimg.HeaderSize {
		return nil, usageErrorf("--header-size: minimum is %#x", mcuimg.HeaderSize)
	}
	switch opts.Align {
	case 1, 2, 4, 8, 16, 32:
	default:
		return nil, usageErrorf("--align %d: want 1, 2, 4, 8, 16 or 32", opts.Align)
	}
	if o.has("encrypt-keylen") && opts.EncryptKeyLen != 128 && opts.EncryptKeyLen != 256 {
		return nil, usageErrorf("--encrypt-keylen %s: want 128 or 256", o.str("encrypt-keylen"))
	}
	for _, a := range []struct {
		name string
		dst  *uint32
	}{{"load-addr", &opts.LoadAddr}, {"rom-fixed", &opts.ROMFixed}} {
		v, err := o.integer(a.name, 0, 0xffffffff)
		if err != nil {
			return nil, err
		}
		*a.dst = uint32(v)
	}
	switch e := o.str("erased-val"); strings.ToLower(e) {
	case "", "0xff":
	case "0":
		opts.ErasedZero = true
	default:
		return nil, usageErrorf("--erased-val %q: want 0 or 0xff", e)
	}
	if e := o.str("endian"); e != "" && e != "little" {
		return nil, usageErrorf("--endian %q: only little-endian images are supported", e)
	}
	switch f := o.str("public-key-format"); f {
	case "", "hash":
	case "full":
		opts.PublicKeyFormat = mcuimg.KeyFormatFull
	default:
		return nil, usageErrorf("--public-key-format %q: want hash or full", f)
	}
	switch s := o.str("sha"); s {
	case "", "auto":
	case "256":
		opts.Hash = mcuimg.TLVSHA256
	case "384":
		opts.Hash = mcuimg.TLVSHA384
	case "512":
		opts.Hash = mcuimg.TLVSHA512
	default:
		return nil, usageErrorf("--sha %q: want auto, 256, 384 or 512", s)
	}
	if s := o.str("security-counter"); s != "" {
		var v uint32
		if strings.EqualFold(s, "auto") {
			v = mcuimg.AutoSecurityCounter(opts.Version)
		} else {
			n, err := parseInteger(s, 0xffffffff)
			if err != nil {
				return nil, usageErrorf("--security-counter: %v", err)
			}
			v = uint32(n)
		}
		opts.SecurityCounter = &v
	}
	for _, d := range o.list("dependencies") {
		deps, err := mcuimg.ParseDependencies(d)
		if err != nil {
			return nil, usageErrorf("--dependencies: %v", err)
		}
		opts.Dependencies = append(opts.Dependencies, deps...)
	}
	pairs := o.list("custom-tlv")
	for i := 0; i+1 < len(pairs); i += 2 {
		t, err := parseCustomTLV(pairs[i], pairs[i+1])
		if err != nil {
			return nil, err
		}
		opts.CustomTLVs = append(opts.CustomTLVs, t)
	}
	if path := o.str("key"); path != "" {
		if opts.Key, err = loadPrivateKey(path); err != nil {
			return nil, err
		}
		if !opts.Key.Algorithm().CanSign() {
			return nil, usageErrorf("--key %s: %s keys cannot sign (want ecdsa-p256 or ed25519)", path, opts.Key.Algorithm())
		}
	}
	if path := o.str("encrypt"); path != "" {
		if opts.EncryptTo, err = loadPublicKey(path); err != nil {
			return nil, err
		}
		if !opts.EncryptTo.Algorithm().CanEncrypt() {
			return nil, usageErrorf("--encrypt %s: %s keys cannot encrypt (want x25519 or ecdsa-p256)", path, opts.EncryptTo.Algorithm())
		}
	} else if opts.Clear || o.has("encrypt-keylen") {
		return nil, usageErrorf("--clear and --encrypt-keylen need --encrypt")
	}
	return opts, nil
}

// parseCustomTLV reads --custom-tlv TAG VALUE as imgtool does: VALUE with a
// 0x prefix is hex bytes, anything else is UTF-8 text.
func parseCustomTLV(tag, value string) (mcuimg.TLV, error) {
	n, err := parseInteger(tag, 0xffff)
	if err != nil {
		return mcuimg.TLV{}, usageErrorf("--custom-tlv tag: %v", err)
	}
	t := mcuimg.TLVType(n)
	if !t.IsVendor() {
		return mcuimg.TLV{}, usageErrorf("--custom-tlv tag %#x: want 0xa0 to 0xfffe", n)
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(value), "0x"); ok {
		b, err := hex.DecodeString(rest)
		if err != nil {
			return mcuimg.TLV{}, usageErrorf("--custom-tlv value %q: not an even number of hex digits", value)
		}
		return mcuimg.TLV{Type: t, Value: b}, nil
	}
	return mcuimg.TLV{Type: t, Value: []byte(value)}, nil
}
