package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"

	"trustforge/crypto/mcuimg"
	"trustforge/devices/smp"
)

// slotInfo is what Zephyr's img_mgmt_read_info reads of a slot: a header
// with the magic, a TLV area and a SHA256 hash.
type slotInfo struct {
	version mcuimg.Version
	hash    []byte
	flags   mcuimg.Flags
}

func readSlotInfo(s *slot) (*slotInfo, bool) {
	img, err := mcuimg.ParsePrefix(s.image())
	if err != nil {
		return nil, false
	}
	t, hash, ok := img.Hash()
	if !ok || t != mcuimg.TLVSHA256 || len(hash) != sha256.Size {
		return nil, false
	}
	return &slotInfo{version: img.Version(), hash: append([]byte(nil), hash...), flags: img.Flags()}, true
}

func (b *Board) slotByNumber(n int) *slot {
	if n == 0 {
		return b.primary
	}
	return b.secondary
}

// nextBootLocked returns the slot the next boot runs and how, as Zephyr's
// img_mgmt_get_next_boot_slot reads MCUboot's swap type.
func (b *Board) nextBootLocked() (next int, t swapType) {
	t = b.swapTypeLocked()
	if t == swapNone {
		return 0, t
	}
	return 1, t
}

// slotInUseLocked reports whether a slot may not be uploaded to or erased:
// the running slot, or the other one while it holds a pending image or the
// image a revert needs.
func (b *Board) slotInUseLocked(n int) bool {
	if n == 0 {
		return true
	}
	_, t := b.nextBootLocked()
	return t != swapNone
}

func (b *Board) stateMapLocked() imap {
	list := ilist{}
	if b.running.Recovery {
		if info, ok := readSlotInfo(b.primary); ok {
			list = append(list, imap{{"slot", 0}, {"version", versionString(info.version)}, {"hash", info.hash}})
		}
		return imap{{"images", list}}
	}
	next, t := b.nextBootLocked()
	active := t != swapRevert
	var flags [2][5]bool // bootable set below; pending, confirmed, active, permanent
	flags[0][2], flags[0][3] = active, true
	if next != 0 {
		switch t {
		case swapPerm:
			flags[1][1], flags[1][4] = true, true
		case swapRevert:
			flags[1][2] = true
		case swapTest:
			flags[1][1] = true
		}
	}
	for n := range 2 {
		info, ok := readSlotInfo(b.slotByNumber(n))
		if !ok {
			continue
		}
		f := flags[n]
		list = append(list, imap{
			{"slot", n},
			{"version", versionString(info.version)},
			{"hash", info.hash},
			{"bootable", info.flags&mcuimg.FlagNonBootable == 0},
			{"pending", f[1]},
			{"confirmed", f[2]},
			{"active", f[3]},
			{"permanent", f[4]},
		})
	}
	return imap{{"images", list}, {"splitStatus", 0}}
}

func (b *Board) imgStateRead(r request) (imap, func(), *smpError) {
	return b.stateMapLocked(), nil, nil
}

func (b *Board) imgStateWrite(r request) (imap, func(), *smpError) {
	var req struct {
		Hash    []byte `cbor:"hash"`
		Confirm bool   `cbor:"confirm"`
	}
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	if b.running.Recovery {
		return nil, nil, rcError(smp.RCNotSupported)
	}
	n := -1
	switch {
	case len(req.Hash) == 0 && req.Confirm:
		n = 0
	case len(req.Hash) == 0:
		return nil, nil, imgError(smp.ImageErrInvalidHash, "a test needs a hash")
	case len(req.Hash) != sha256.Size:
		return nil, nil, imgError(smp.ImageErrInvalidHash, "")
	default:
		for i := range 2 {
			if info, ok := readSlotInfo(b.slotByNumber(i)); ok && bytes.Equal(info.hash, req.Hash) {
				n = i
				break
			}
		}
		if n < 0 {
			return nil, nil, imgError(smp.ImageErrHashNotFound, "")
		}
	}
	if err := b.setNextBootLocked(n, req.Confirm); err != nil {
		return nil, nil, err
	}
	return b.stateMapLocked(), nil, nil
}

// setNextBootLocked follows Zephyr's img_mgmt_set_next_boot_slot.
func (b *Board) setNextBootLocked(n int, confirm bool) *smpError {
	const active = 0
	next, t := b.nextBootLocked()
	if !confirm && n == active {
		return imgError(smp.ImageErrTestToActiveDenied, "")
	}
	switch t {
	case swapTest:
		if !confirm && n == next {
			return nil
		}
		return imgError(smp.ImageErrAlreadyPending, "")
	case swapNone, swapPerm:
		if confirm && n == next {
			return nil
		}
		if n == active && active != next || !confirm && n != active && n == next {
			return imgError(smp.ImageErrAlreadyPending, "")
		}
	case swapRevert:
		if confirm && n == next {
			return nil
		}
		if !confirm {
			return imgError(smp.ImageErrAlreadyPending, "")
		}
	}
	var err error
	if n == active {
		err = b.primary.setConfirmed()
		if err == nil {
			b.running.Confirmed = true
		}
	} else {
		err = b.secondary.setPending(confirm)
	}
	if err != nil {
		b.logf("writing the trailer: %v", err)
		return imgError(smp.ImageErrFlashWrite, "")
	}
	return nil
}

// uploadSession is the upload in progress, kept in RAM as Zephyr keeps it:
// a reset or power loss forgets it.
type uploadSession struct {
	slot    *slot
	size    int64
	off     int64 // bytes accepted
	sha     []byte
	written int64  // bytes programmed
	tail    []byte // accepted bytes waiting for a whole write unit
}

func (b *Board) imgUpload(r request) (imap, func(), *smpError) {
	var req struct {
		Image   uint32 `cbor:"image"`
		Data    []byte `cbor:"data"`
		Len     *int64 `cbor:"len"`
		Off     *int64 `cbor:"off"`
		SHA     []byte `cbor:"sha"`
		Upgrade bool   `cbor:"upgrade"`
	}
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	u := &b.upload
	if req.Off == nil || *req.Off < 0 {
		return nil, nil, imgError(smp.ImageErrInvalidOffset, "header malformed")
	}
	off := *req.Off
	if off == 0 {
		if len(req.Data) < 32 {
			return nil, nil, imgError(smp.ImageErrInvalidHeader, "header malformed")
		}
		if req.Len == nil || *req.Len <= 0 {
			return nil, nil, imgError(smp.ImageErrInvalidLength, "header malformed")
		}
		if binary.LittleEndian.Uint32(req.Data) != mcuimg.Magic {
			return nil, nil, imgError(smp.ImageErrInvalidHeaderMagic, "magic mismatch")
		}
		if len(req.SHA) > sha256.Size {
			return nil, nil, imgError(smp.ImageErrInvalidHash, "")
		}
		if len(req.SHA) > 0 && u.slot != nil && bytes.Equal(u.sha, req.SHA) {
			return imap{{"off", u.off}}, nil, nil // the same upload: resume
		}
		target := b.secondary
		if b.running.Recovery {
			target = b.primary
		}
		if req.Image != 0 || !b.running.Recovery && b.slotInUseLocked(1) {
			return nil, nil, imgError(smp.ImageErrNoFreeSlot, "no slot")
		}
		size := *req.Len
		if size > int64(target.maxImage()) {
			return nil, nil, imgError(smp.ImageErrTooLarge, "img too large")
		}
		if req.Upgrade && !b.running.Recovery {
			h, err := mcuimg.ParseHeader(req.Data)
			if err == nil && compareVersion(b.running.Version, h.Version) >= 0 {
				return nil, nil, imgError(smp.ImageErrCurrentVersionNewer, "downgrade")
			}
		}
		if len(req.SHA) == sha256.Size {
			if sum := sha256.Sum256(target.image()[:size]); bytes.Equal(sum[:], req.SHA) {
				// The slot holds this upload already.
				b.upload = uploadSession{}
				return imap{{"off", size}, {"match", true}}, nil, nil
			}
		}
		if err := target.erase(); err != nil {
			b.logf("erasing for an upload: %v", err)
			return nil, nil, imgError(smp.ImageErrFlashErase, "fa erase fail")
		}
		*u = uploadSession{slot: target, size: size, sha: append([]byte(nil), req.SHA...)}
	} else if u.slot == nil || off != u.off {
		// Not the offset expected: drop the data and say which one is.
		return imap{{"off", u.off}}, nil, nil
	}
	if u.off+int64(len(req.Data)) > u.size {
		*u = uploadSession{}
		return nil, nil, imgError(smp.ImageErrDataOverrun, "data overrun")
	}
	last := u.off+int64(len(req.Data)) == u.size
	if err := b.writeUploadLocked(req.Data, last); err != nil {
		b.logf("writing an upload: %v", err)
		*u = uploadSession{}
		return nil, nil, imgError(smp.ImageErrFlashWrite, "fa write fail")
	}
	u.off += int64(len(req.Data))
	ans := imap{{"off", u.off}}
	if last {
		sum := sha256.Sum256(u.slot.image()[:u.size])
		ans = append(ans, kv{"match", len(u.sha) == sha256.Size && bytes.Equal(sum[:], u.sha)})
		b.logf("upload of %d bytes complete", u.size)
		*u = uploadSession{}
	}
	return ans, nil, nil
}

// writeUploadLocked programs upload data through a buffer of one write unit,
// as Zephyr's stream flash does; the last chunk is padded with erased bytes.
func (b *Board) writeUploadLocked(data []byte, last bool) error {
	u := &b.upload
	align := b.flash.Align()
	buf := append(u.tail, data...)
	n := len(buf) / align * align
	if last && n < len(buf) {
		for len(buf)%align != 0 {
			buf = append(buf, erasedByte)
		}
		n = len(buf)
	}
	if n > 0 {
		if err := b.flash.Write(u.slot.off+int(u.written), buf[:n]); err != nil {
			return err
		}
		u.written += int64(n)
	}
	u.tail = append([]byte(nil), buf[n:]...)
	return nil
}

func compareVersion(a, c mcuimg.Version) int {
	switch {
	case a.Major != c.Major:
		return int(a.Major) - int(c.Major)
	case a.Minor != c.Minor:
		return int(a.Minor) - int(c.Minor)
	}
	return int(a.Revision) - int(c.Revision)
}

func (b *Board) imgErase(r request) (imap, func(), *smpError) {
	req := struct {
		Slot int `cbor:"slot"`
	}{Slot: 1}
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	if b.running.Recovery {
		return nil, nil, rcError(smp.RCNotSupported)
	}
	if req.Slot != 0 && req.Slot != 1 {
		return nil, nil, imgError(smp.ImageErrInvalidSlot, "")
	}
	s := b.slotByNumber(req.Slot)
	if _, ok := readSlotInfo(s); ok && b.slotInUseLocked(req.Slot) {
		return nil, nil, imgError(smp.ImageErrNoFreeSlot, "")
	}
	b.upload = uploadSession{}
	if err := s.erase(); err != nil {
		b.logf("erasing slot %d: %v", req.Slot, err)
		return nil, nil, imgError(smp.ImageErrFlashErase, "")
	}
	return imap{}, nil, nil
}

func (b *Board) imgSlotInfo(r request) (imap, func(), *smpError) {
	return imap{{"images", ilist{imap{
		{"image", 0},
		{"slots", ilist{
			imap{{"slot", 0}, {"size", b.primary.size}},
			imap{{"slot", 1}, {"size", b.secondary.size}, {"upload_image_id", 0}},
		}},
		{"max_image_size", b.secondary.maxImage()},
	}}}}, nil, nil
}
