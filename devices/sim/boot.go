package sim

import (
	"errors"
	"fmt"

	"trustforge/crypto/mcuimg"
)

// swapType is what the bootloader decides from the slot trailers, as
// MCUboot's boot_swap_type does.
type swapType int

const (
	swapNone swapType = iota
	swapTest
	swapPerm
	swapRevert
)

func (t swapType) String() string {
	return [...]string{"none", "test", "perm", "revert"}[t]
}

func decideSwap(p, s trailerState) swapType {
	switch {
	case s.magic && !s.imageOK:
		return swapTest
	case s.magic && s.imageOK:
		return swapPerm
	case p.magic && !p.imageOK && p.copyDone && !s.magic:
		return swapRevert
	}
	return swapNone
}

func (b *Board) swapTypeLocked() swapType {
	return decideSwap(b.primary.readTrailer(), b.secondary.readTrailer())
}

// validated is an image the bootloader accepted.
type validated struct {
	img   *mcuimg.Image
	plain []byte // the image with its payload in plaintext
	hash  []byte
	ctr   uint32
}

// errNoImage is the reason given for an erased slot.
var errNoImage = errors.New("no image")

// validate checks the image in s as MCUboot does before booting it: a
// parsable image, bootable, its hash (of the plaintext: an image in the
// secondary slot is decrypted first) and, when boot keys are provisioned, a
// signature by one of them; and a security counter no lower than the
// board's.
func (b *Board) validateLocked(s *slot, secondary bool) (*validated, error) {
	data := s.image()
	if h, err := mcuimg.ParseHeader(data); err != nil {
		if errors.Is(err, mcuimg.ErrBadMagic) && isErased(data[:32]) {
			return nil, errNoImage
		}
		return nil, err
	} else if h.Flags&mcuimg.FlagNonBootable != 0 {
		return nil, errors.New("the image is marked not bootable")
	}
	img, err := mcuimg.ParsePrefix(data)
	if err != nil {
		return nil, err
	}
	trusted, err := b.trustedKeysLocked(img)
	if err != nil {
		return nil, err
	}
	opts := mcuimg.VerifyOptions{Keys: trusted}
	plain := img.Bytes()
	if secondary && img.Encrypted() {
		encKey := b.encKeyLocked()
		if encKey == nil {
			return nil, errors.New("the image is encrypted and this board has no decryption key")
		}
		opts.DecryptionKey = encKey
		if plain, err = img.Decrypt(encKey); err != nil {
			return nil, err
		}
	}
	v, err := img.Verify(opts)
	if err != nil {
		return nil, err
	}
	ctr, _, err := img.SecurityCounter()
	if err != nil {
		return nil, err
	}
	if have := b.securityCounterLocked(); ctr < have {
		return nil, fmt.Errorf("security counter %d is lower than the board's %d: rollback refused", ctr, have)
	}
	return &validated{img: img, plain: append([]byte(nil), plain...), hash: v.Hash, ctr: ctr}, nil
}

func isErased(b []byte) bool {
	for _, x := range b {
		if x != erasedByte {
			return false
		}
	}
	return true
}

// bootLocked runs the bootloader and returns its console lines.
func (b *Board) bootLocked() []string {
	p, s := b.primary, b.secondary
	log := []string{"*** Booting MCUboot (trustforge board simulator) ***", "I: Starting bootloader"}
	pt, st := p.readTrailer(), s.readTrailer()
	log = append(log, fmt.Sprintf("I: Primary image: magic=%s, copy_done=%s, image_ok=%s",
		magicWord(pt.magic), flagWord(pt.copyDone), flagWord(pt.imageOK)))
	log = append(log, fmt.Sprintf("I: Secondary image: magic=%s, image_ok=%s", magicWord(st.magic), flagWord(st.imageOK)))
	if !b.bootKeyConfiguredLocked() {
		log = append(log, "W: No boot key provisioned: any image with a valid hash boots")
	}

	t := decideSwap(pt, st)
	log = append(log, "I: Boot swap type: "+t.String())
	switch t {
	case swapTest, swapPerm:
		v, err := b.validateLocked(s, true)
		if err != nil {
			log = append(log, "E: Image in the secondary slot is not valid: "+err.Error())
			if err := s.erase(); err != nil {
				log = append(log, "E: Erasing the secondary slot failed: "+err.Error())
			}
			b.logf("bootloader refused the secondary image: %v", err)
			break
		}
		log = append(log, fmt.Sprintf("I: Swapping in image %s (%s swap)", versionString(v.img.Version()), t))
		if err := b.swapLocked(v.plain, t == swapPerm); err != nil {
			log = append(log, "E: Swap failed: "+err.Error())
		}
	case swapRevert:
		log = append(log, "I: Reverting: the image under test was not confirmed")
		if err := b.revertLocked(); err != nil {
			log = append(log, "E: Revert failed: "+err.Error())
		}
	}

	b.running = Running{Boots: b.running.Boots + 1}
	v, err := b.validateLocked(p, false)
	if err != nil {
		if !errors.Is(err, errNoImage) {
			log = append(log, "E: Image in the primary slot is not valid: "+err.Error())
		}
		log = append(log, "E: Unable to find bootable image",
			"I: Serial recovery: waiting for an image over SMP")
		b.running.Recovery = true
		return log
	}
	pt = p.readTrailer()
	confirmed := !pt.magic || pt.imageOK
	if confirmed && v.ctr > b.securityCounterLocked() {
		if err := b.setSecurityCounterLocked(v.ctr); err != nil {
			log = append(log, "E: Updating the security counter failed: "+err.Error())
		} else {
			log = append(log, fmt.Sprintf("I: Security counter raised to %d", v.ctr))
		}
	}
	b.running.Version = v.img.Version()
	b.running.Hash = v.hash
	b.running.Confirmed = confirmed
	log = append(log, "I: Jumping to the first image slot",
		"*** Booting Zephyr OS build v3.7.0 (trustforge board simulator) ***",
		fmt.Sprintf("app: version %s running%s", versionString(v.img.Version()), map[bool]string{true: "", false: " (under test: confirm it or the next reset reverts it)"}[confirmed]))
	return log
}

func magicWord(set bool) string {
	if set {
		return "good"
	}
	return "unset"
}

func flagWord(set bool) string {
	if set {
		return "set"
	}
	return "unset"
}

// swapLocked puts plain (a validated, decrypted image) into the primary slot
// and the primary's image into the secondary, where a revert finds it.
func (b *Board) swapLocked(plain []byte, permanent bool) error {
	p, s := b.primary, b.secondary
	old := b.toSecondaryLocked(append([]byte(nil), p.image()...))
	if err := p.program(plain); err != nil {
		return err
	}
	if err := s.program(old); err != nil {
		return err
	}
	return b.finishSwapLocked(permanent)
}

// revertLocked swaps the slots back after an unconfirmed test.
func (b *Board) revertLocked() error {
	p, s := b.primary, b.secondary
	back := b.toPrimaryLocked(append([]byte(nil), s.image()...))
	test := b.toSecondaryLocked(append([]byte(nil), p.image()...))
	if err := p.program(back); err != nil {
		return err
	}
	if err := s.program(test); err != nil {
		return err
	}
	return b.finishSwapLocked(true)
}

// finishSwapLocked writes the trailers a completed swap leaves: the
// secondary's erased, the primary's with its magic and copy_done, and
// image_ok for a permanent swap or a revert.
func (b *Board) finishSwapLocked(imageOK bool) error {
	p, s := b.primary, b.secondary
	if err := s.eraseTrailer(); err != nil {
		return err
	}
	if err := p.eraseTrailer(); err != nil {
		return err
	}
	if err := p.writeMagic(); err != nil {
		return err
	}
	if err := p.writeFlag(p.copyDoneOff()); err != nil {
		return err
	}
	if imageOK {
		return p.writeFlag(p.imageOKOff())
	}
	return nil
}

// toSecondaryLocked encrypts the payload of an encrypted image moving out of
// the primary slot, as MCUboot keeps the secondary slot encrypted. area is
// the slot's image area; bytes after the image are kept.
func (b *Board) toSecondaryLocked(area []byte) []byte { return b.cryptAreaLocked(area) }

// toPrimaryLocked decrypts an encrypted image moving into the primary slot.
func (b *Board) toPrimaryLocked(area []byte) []byte { return b.cryptAreaLocked(area) }

// cryptAreaLocked applies the image's AES-CTR keystream to its payload: it
// encrypts plaintext and decrypts ciphertext alike. Areas without an
// encrypted image, or that the board has no key for, are left as they are.
func (b *Board) cryptAreaLocked(area []byte) []byte {
	encKey := b.encKeyLocked()
	if encKey == nil {
		return area
	}
	img, err := mcuimg.ParsePrefix(area)
	if err != nil || !img.Encrypted() {
		return area
	}
	out, err := img.Decrypt(encKey)
	if err != nil {
		return area
	}
	copy(area, out)
	return area
}

// versionString formats a version as Zephyr's image list does:
// major.minor.revision, and .build when the build number is not zero.
func versionString(v mcuimg.Version) string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Revision)
	if v.Build != 0 {
		s += fmt.Sprintf(".%d", v.Build)
	}
	return s
}
