package release

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/engine"
	"trustforge/crypto/engine/webcrypto"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/mcuimg/ihex"
	"trustforge/internal/blocks"
	"trustforge/internal/usererr"
)

// MaxFirmware bounds the firmware file a release is built from.
const MaxFirmware = 64 << 20

// Input is what a release is built from.
type Input struct {
	// Firmware is the application binary, or Intel HEX text when IsHex,
	// in blocks (the console reads a file into blocks: see
	// trustforge/internal/blocks; blocks.Of wraps one slice).
	Firmware *blocks.Buffer
	// IsHex says Firmware is Intel HEX (a .hex file); it is flattened to a
	// binary with 0xff gaps first.
	IsHex bool
	// ConsumeFirmware lets Build write the signed image into Firmware's
	// blocks as it reads them (blocks.Buffer.Drain): a binary Firmware is
	// empty afterwards. The publish form, which reads the file for this
	// one build, sets it: memory the browser has not handed out before is
	// slow to write, and a 64 MiB image then needs none.
	ConsumeFirmware bool
	// Key signs the image and the manifest (ECDSA P-256 or Ed25519).
	Key *keys.PrivateKey
	// Image are the MCUboot options: HeaderSize, PadHeader, Align,
	// SlotSize, EncryptTo... Key, Version and SecurityCounter are set from
	// the fields here.
	Image mcuimg.SignOptions
	// Product, Channel, Hardware and Notes describe the release.
	Product  string
	Channel  string
	Hardware []string
	Notes    string
	// Version is the image and release version, "1.2.3" or "1.2.3+4".
	Version string
	// SecurityCounter is the image's SEC_CNT and the manifest's counter;
	// nil leaves the image without one (counter 0).
	SecurityCounter *uint32
	// Recipients are the age recipients ("age1…") who may open the release.
	Recipients []string
	// Now is the release's creation time; zero means time.Now.
	Now time.Time
}

// Built is a release ready to upload. Its image and bundle are held in
// blocks, never in one slice: Go zeroes a long slice it hands out again in
// one piece, which stalls the page (see trustforge/internal/blocks).
type Built struct {
	// Image is the signed MCUboot image. It stays in the browser.
	Image *blocks.Buffer
	// Bundle is the .tfb to upload: signed manifest and age ciphertext.
	// Its first block is the header and manifest, the others the payload
	// as it was encrypted. It is nil when the engine keeps the payload:
	// the .tfb is then Head followed by Payload's bytes.
	Bundle *blocks.Buffer
	// Head and Payload are the .tfb when the engine keeps the payload
	// (engine.PayloadKeeper: in the browser, its worker, which uploads it
	// from there): the header and signed manifest, and the age ciphertext.
	// Release frees the payload.
	Head    []byte
	Payload engine.KeptPayload
	// Manifest is the signed manifest's content.
	Manifest *bundle.Manifest
	// KeyID is the signer's fingerprint (hex SHA-256 of its SPKI).
	KeyID string
	// SignTime and EncryptTime split the work.
	SignTime, EncryptTime time.Duration
}

// Build signs the firmware as an MCUboot image, encrypts it to the
// recipients and signs the release manifest, reporting progress and
// yielding between chunks.
func Build(ctx context.Context, in Input, progress func(Progress), yield Yield) (*Built, error) {
	if in.Key == nil || !in.Key.Algorithm().CanSign() {
		return nil, usererr.New("release", "choose a signing key (ECDSA P-256 or Ed25519)")
	}
	if in.Firmware == nil || in.Firmware.Len() == 0 {
		return nil, usererr.New("release", "the firmware file is empty")
	}
	if in.Firmware.Len() > MaxFirmware {
		return nil, usererr.Errorf("release", "the firmware file is %d bytes, more than %d", in.Firmware.Len(), MaxFirmware)
	}
	imgVer, err := mcuimg.ParseVersion(in.Version)
	if err != nil {
		return nil, usererr.Errorf("release", "version: %w", err)
	}
	relVer, err := bundle.ParseVersion(in.Version)
	if err != nil {
		return nil, usererr.Errorf("release", "version %q: want MAJOR.MINOR.REVISION or MAJOR.MINOR.REVISION+BUILD", in.Version)
	}
	if len(in.Recipients) == 0 {
		return nil, usererr.New("release", "choose at least one recipient who may open the release")
	}
	var to bundle.Recipients
	for _, r := range in.Recipients {
		rc, err := bundle.ParseRecipient(strings.TrimSpace(r))
		if err != nil {
			return nil, usererr.Errorf("release", "recipient: %w", err)
		}
		to.Keys = append(to.Keys, rc)
	}
	payload := in.Firmware
	if in.IsHex {
		f, err := ihex.Parse(in.Firmware.Bytes())
		if err != nil {
			return nil, usererr.Errorf("release", "%w", err)
		}
		_, bin, err := f.Binary(0xff, MaxFirmware)
		if err != nil {
			return nil, usererr.Errorf("release", "%w", err)
		}
		payload = blocks.Of(bin)
	}
	signer, err := in.Key.Signer()
	if err != nil {
		return nil, err
	}

	opts := in.Image
	if opts.Engine == nil {
		// WebCrypto's SHA-256 and AES-CTR in the browser (same bytes).
		opts.Engine = webcrypto.New()
	}
	opts.Key = in.Key
	opts.Version = imgVer
	opts.SecurityCounter = in.SecurityCounter
	start := time.Now()
	// The image, and then the ciphertext, are written to blocks allocated
	// one at a time as they fill: each allocation, zeroed by the runtime
	// when it reuses memory (as it does from the second publish on), is
	// short, where a buffer the size of the image stalled the page.
	img := new(blocks.Buffer)
	var fw io.Reader = payload.Reader()
	if in.ConsumeFirmware && payload == in.Firmware {
		fw = payload.Drain(img)
	}
	src := &yieldingReader{ctx: ctx, r: fw, yield: yield, stage: StageSign,
		total: payload.Len(), progress: progress}
	res, err := mcuimg.SignTo(ctx, img, src, payload.Len(), &opts)
	if err != nil {
		return nil, usererr.Errorf("release", "signing the image: %w", err)
	}
	signTime := time.Since(start)

	start = time.Now()
	m := bundle.Manifest{Product: in.Product, Version: relVer, Channel: in.Channel, Hardware: in.Hardware,
		Notes: in.Notes, Created: in.Now.UTC().Truncate(time.Second)}
	if m.Hardware == nil {
		m.Hardware = []string{}
	}
	if in.SecurityCounter != nil {
		m.SecurityCounter = *in.SecurityCounter
	}
	// The image was hashed as it was signed, just above: the bundle takes
	// its SHA256 TLV from there instead of hashing the image again.
	signed := res.HashType == mcuimg.TLVSHA256 && len(res.Hash) == len(m.Image.SHA256)
	if signed {
		m.Image = bundle.ImageInfo{Size: img.Len(), SHA256: bundle.Digest(res.Hash)}
	}
	createOpts := bundle.CreateOptions{Key: signer, To: to, ImageSigned: signed, Engine: opts.Engine}
	if keeper, ok := opts.Engine.(engine.PayloadKeeper); ok {
		// The payload is made where the engine keeps it; should that fail
		// (its worker stopped), it is made again here, below.
		imgSrc := &yieldingReader{ctx: ctx, r: img.Reader(), yield: yield, stage: StageEncrypt,
			total: img.Len(), progress: progress}
		b, err := sealKept(ctx, keeper, imgSrc, img.Len(), m, createOpts)
		if b != nil || err != nil {
			if b != nil {
				b.Image, b.SignTime, b.EncryptTime = img, signTime, time.Since(start)
			}
			return b, err
		}
	}
	imgSrc := &yieldingReader{ctx: ctx, r: img.Reader(), yield: yield, stage: StageEncrypt,
		total: img.Len(), progress: progress}
	// The ciphertext waits in scratch while the manifest is signed, then
	// is read back to be counted: yield there too. The scratch is this
	// function's memory, so it is not hashed a second time.
	scratch := &yieldingScratch{ctx: ctx, yield: yield, buf: new(blocks.Buffer)}
	out := &inPlace{scratch: scratch}
	createOpts.Scratch, createOpts.ScratchInMemory = scratch, true
	s, err := bundle.Create(ctx, out, imgSrc, m, createOpts)
	if err != nil {
		return nil, usererr.Errorf("release", "%w", err)
	}
	tfb, err := out.bundle()
	if err != nil {
		return nil, err
	}
	man, err := s.VerifyIntegrity()
	if err != nil {
		return nil, usererr.Errorf("release", "the new manifest does not verify: %w", err)
	}
	return &Built{Image: img, Bundle: tfb, Manifest: man, KeyID: s.KeyID(),
		SignTime: signTime, EncryptTime: time.Since(start)}, nil
}

// sealKept makes the release's payload from the n-byte image read from
// src where keeper keeps it, and returns the release without its image
// and times; nil and no error when it cannot (no worker, or the worker
// failed): the caller makes the payload in Go.
func sealKept(ctx context.Context, keeper engine.PayloadKeeper, src io.Reader, n int64, m bundle.Manifest,
	co bundle.CreateOptions) (*Built, error) {
	kept := keeper.KeepPayload(ctx, payloadSize(n, len(co.To.Keys)))
	if kept == nil {
		return nil, nil
	}
	s, err := bundle.CreateKept(ctx, src, m, kept, co)
	var head bytes.Buffer
	if err == nil {
		err = bundle.WriteHeader(&head, s)
	}
	if err != nil {
		kept.Release()
		return nil, ctx.Err()
	}
	man, err := s.VerifyIntegrity()
	if err != nil {
		kept.Release()
		return nil, usererr.Errorf("release", "the new manifest does not verify: %w", err)
	}
	return &Built{Head: head.Bytes(), Payload: kept, Manifest: man, KeyID: s.KeyID()}, nil
}

// Len returns the length of the .tfb.
func (b *Built) Len() int64 {
	if b.Payload != nil {
		return int64(len(b.Head)) + b.Payload.Len()
	}
	return b.Bundle.Len()
}

// Release frees the payload the engine keeps, if it keeps one.
func (b *Built) Release() {
	if b.Payload != nil {
		b.Payload.Release()
	}
}

// payloadSize is about how long the age payload of an image of n bytes
// is, for recipients: its chunks' tags, and a header of a few hundred
// bytes a recipient (hybrid recipients' stanzas are over a kilobyte).
func payloadSize(n int64, recipients int) int64 {
	return n + (n/engine.ChunkSize+1)*16 + 512 + int64(recipients)*2048
}

// inPlace is where bundle.Create writes the bundle: the header and the
// signed manifest, kept here, then the payload, which Create copies out of
// scratch, where it already is in place: only counted. The bundle is then
// the header's block followed by scratch's, without a copy of the payload.
type inPlace struct {
	scratch *yieldingScratch
	head    []byte
	payload int64
}

func (w *inPlace) Write(p []byte) (int, error) {
	if !w.scratch.read {
		w.head = append(w.head, p...)
		return len(p), nil
	}
	w.payload += int64(len(p))
	return len(p), nil
}

// bundle returns the bundle Create wrote.
func (w *inPlace) bundle() (*blocks.Buffer, error) {
	if n := w.scratch.buf.Len(); w.payload != n {
		return nil, usererr.Errorf("release", "the bundle's payload is %d bytes, scratch holds %d", w.payload, n)
	}
	return blocks.Of(append([][]byte{w.head}, w.scratch.buf.Blocks()...)...), nil
}
