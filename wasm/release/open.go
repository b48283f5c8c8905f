package release

import (
	"bytes"
	"context"
	"errors"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/engine/webcrypto"
	"trustforge/internal/usererr"
)

// Open verifies a release's signed manifest against trusted keys (see
// Verify), decrypts its payload with the first identity that opens it and
// returns the MCUboot image, checked against the manifest.
func Open(ctx context.Context, c Checked, payload []byte, ids []age.Identity, progress func(Progress), yield Yield) ([]byte, error) {
	if !c.Verified() {
		if c.Err != nil {
			return nil, usererr.Errorf("release", "not opened: %w", c.Err)
		}
		return nil, usererr.New("release", "not opened: its manifest is not verified")
	}
	if len(ids) == 0 {
		return nil, usererr.New("release", "the vault holds no age identity to open releases with")
	}
	var out bytes.Buffer
	out.Grow(int(c.Manifest.Image.Size))
	src := &yieldingReader{ctx: ctx, r: bytes.NewReader(payload), yield: yield, stage: StageDecrypt,
		total: int64(len(payload)), progress: progress}
	// WebCrypto's SHA-256 in the browser checks the payload and the image.
	if err := bundle.DecryptWith(ctx, &out, src, c.Manifest, webcrypto.New(), ids...); err != nil {
		if errors.Is(err, bundle.ErrNoIdentity) {
			return nil, usererr.Errorf("release", "none of this vault's identities can open it (it is encrypted to %d other recipients): %w",
				len(c.Manifest.Recipients), err)
		}
		return nil, usererr.Errorf("release", "%w", err)
	}
	return out.Bytes(), nil
}
