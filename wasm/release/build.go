package release

import (
	"bytes"
	"context"
	"strings"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/engine/webcrypto"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/mcuimg/ihex"
	"trustforge/internal/usererr"
)

// MaxFirmware bounds the firmware file a release is built from.
const MaxFirmware = 64 << 20

// Input is what a release is built from.
type Input struct {
	// Firmware is the application binary, or Intel HEX text when IsHex.
	Firmware []byte
	// IsHex says Firmware is Intel HEX (a .hex file); it is flattened to a
	// binary with 0xff gaps first.
	IsHex bool
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

// Built is a release ready to upload.
type Built struct {
	// Image is the signed MCUboot image. It stays in the browser.
	Image []byte
	// Bundle is the .tfb to upload: signed manifest and age ciphertext.
	Bundle []byte
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
	if len(in.Firmware) == 0 {
		return nil, usererr.New("release", "the firmware file is empty")
	}
	if len(in.Firmware) > MaxFirmware {
		return nil, usererr.Errorf("release", "the firmware file is %d bytes, more than %d", len(in.Firmware), MaxFirmware)
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
		f, err := ihex.Parse(in.Firmware)
		if err != nil {
			return nil, usererr.Errorf("release", "%w", err)
		}
		if _, payload, err = f.Binary(0xff, MaxFirmware); err != nil {
			return nil, usererr.Errorf("release", "%w", err)
		}
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
	// The image and the bundle are allocated together, before the work:
	// each allocation this large may start a garbage collection, whose
	// marking runs on the page's thread in one piece, so allocations
	// spread over the work were as many stalls. The bundle is built in
	// place: the ciphertext goes to scratch after room for the header and
	// manifest, which go in front of it once signed (see inPlace).
	imgCap := len(payload) + 64<<10
	var img bytes.Buffer
	img.Grow(imgCap)
	scratchBuf := make([]byte, headRoom, headRoom+imgCap+imgCap/64+4096)
	src := &yieldingReader{ctx: ctx, r: bytes.NewReader(payload), yield: yield, stage: StageSign,
		total: int64(len(payload)), progress: progress}
	res, err := mcuimg.SignTo(ctx, &img, src, int64(len(payload)), &opts)
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
		m.Image = bundle.ImageInfo{Size: int64(img.Len()), SHA256: bundle.Digest(res.Hash)}
	}
	imgSrc := &yieldingReader{ctx: ctx, r: bytes.NewReader(img.Bytes()), yield: yield, stage: StageEncrypt,
		total: int64(img.Len()), progress: progress}
	// The ciphertext waits in scratch while the manifest is signed, then
	// is copied after it: yield there too. The scratch is this function's
	// memory, so the copy is not hashed a second time.
	scratch := &yieldingScratch{ctx: ctx, yield: yield, buf: scratchBuf, off: headRoom}
	out := &inPlace{scratch: scratch}
	s, err := bundle.Create(ctx, out, imgSrc, m, bundle.CreateOptions{Key: signer, To: to, Scratch: scratch,
		ScratchInMemory: true, ImageSigned: signed, Engine: opts.Engine})
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
	return &Built{Image: img.Bytes(), Bundle: tfb, Manifest: man, KeyID: s.KeyID(),
		SignTime: signTime, EncryptTime: time.Since(start)}, nil
}

// headRoom is the room left in front of the ciphertext in scratch for the
// bundle's header and signed manifest (a few KiB).
const headRoom = 64 << 10

// inPlace is where bundle.Create writes the bundle: the header and the
// signed manifest, kept here, then the payload, which Create copies out of
// scratch, where it already is in place: only counted. bundle then puts
// the header in front of the payload in scratch's buffer, without a copy
// of the payload.
type inPlace struct {
	scratch *yieldingScratch
	head    []byte
	payload int
}

func (w *inPlace) Write(p []byte) (int, error) {
	if !w.scratch.read {
		w.head = append(w.head, p...)
		return len(p), nil
	}
	w.payload += len(p)
	return len(p), nil
}

// bundle returns the bundle Create wrote.
func (w *inPlace) bundle() ([]byte, error) {
	payload := w.scratch.buf[headRoom:]
	if w.payload != len(payload) {
		return nil, usererr.Errorf("release", "the bundle's payload is %d bytes, scratch holds %d", w.payload, len(payload))
	}
	if len(w.head) > headRoom {
		return append(w.head, payload...), nil
	}
	start := headRoom - len(w.head)
	copy(w.scratch.buf[start:], w.head)
	return w.scratch.buf[start:], nil
}
