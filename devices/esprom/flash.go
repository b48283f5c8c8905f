package esprom

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"trustforge/crypto/espimg"
	"trustforge/internal/usererr"
)

// Part is data to write at a flash offset.
type Part struct {
	Name   string // for messages: "bootloader", "app", ...
	Offset uint32
	Data   []byte
	// Encrypt asks the ROM to encrypt the part with the chip's flash
	// encryption key as it writes (only when the eFuses allow manual
	// encryption in download mode). Data already encrypted on the host is
	// written with Encrypt false.
	Encrypt bool
}

// FlashOptions tune Flash. The zero value writes compressed 1 KiB blocks,
// verifies with MD5, and leaves the chip in the loader.
type FlashOptions struct {
	// Uncompressed writes with FLASH_DATA instead of FLASH_DEFL_DATA.
	Uncompressed bool
	// BlockSize is the payload of each data command; zero means 0x400, the
	// ROM loader's block.
	BlockSize int
	// NoVerify skips the SPI_FLASH_MD5 check (it is skipped anyway in
	// Secure Download Mode, which refuses it).
	NoVerify bool
	// Progress, when set, is called after each block with the bytes of the
	// current part written so far and the part's size.
	Progress func(part string, done, total int)
	// AllowChip skips the image chip check of parts that are app or
	// bootloader images (for raw data that happens to start with 0xE9).
	AllowChip bool
}

// FlashResult reports what a Flash moved.
type FlashResult struct {
	Written   int  // bytes of flash written (uncompressed)
	Sent      int  // bytes of data payload sent (compressed when compressing)
	Verified  bool // every part was checked with SPI_FLASH_MD5
	Duration  time.Duration
	PartsDone int
}

// CheckParts refuses, before anything is written, parts that cannot go on
// this chip: overlapping or not 4 KiB aligned parts (ErrOverlap), parts
// past the end of the flash (ErrTooLarge), and app or bootloader images
// built for another chip or a later revision (ErrWrongChip).
func CheckParts(ci *ChipInfo, parts []Part, opts FlashOptions) error {
	sorted := append([]Part(nil), parts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	for i, p := range sorted {
		if p.Offset%espimg.SectorSize != 0 {
			return usererr.Errorf("", "%w: %s at %#x is not on a 4 KiB sector boundary", ErrOverlap, p.name(), p.Offset)
		}
		if len(p.Data) == 0 {
			return usererr.Errorf("esprom", "%s is empty", p.name())
		}
		end := uint64(p.Offset) + uint64(len(p.Data))
		if ci != nil && ci.FlashSize > 0 && end > uint64(ci.FlashSize) {
			return usererr.Errorf("", "%w: %s ends at %#x, the flash has %d bytes (%d MB)", ErrTooLarge, p.name(), end, ci.FlashSize, ci.FlashSize>>20)
		}
		if i > 0 {
			prev := sorted[i-1]
			if uint64(prev.Offset)+uint64(len(prev.Data)) > uint64(p.Offset) {
				return usererr.Errorf("", "%w: %s at %#x overlaps %s", ErrOverlap, p.name(), p.Offset, prev.name())
			}
		}
		if ci != nil && !opts.AllowChip && len(p.Data) > 0 && p.Data[0] == espimg.Magic {
			h, err := espimg.ParseHeader(p.Data)
			if err != nil {
				continue // raw data starting with 0xE9
			}
			if err := h.CheckChip(ci.Chip, ci.Revision); err != nil {
				return usererr.Errorf("", "%w: %s: %v", ErrWrongChip, p.name(), err)
			}
			if ci.FlashSize > 0 && h.FlashBytes() > ci.FlashSize && p.Offset == 0 {
				return usererr.Errorf("", "%w: %s is built for %d MB of flash, the chip has %d MB", ErrTooLarge, p.name(), h.FlashBytes()>>20, ci.FlashSize>>20)
			}
		}
	}
	return nil
}

func (p Part) name() string {
	if p.Name != "" {
		return p.Name
	}
	return fmt.Sprintf("part at %#x", p.Offset)
}

// Flash writes parts after CheckParts accepts all of them, each followed
// by an MD5 check of what the flash holds. It does not reset the chip
// (FlashEnd or HardReset do). ci is Detect's answer.
func (c *Client) Flash(ctx context.Context, ci *ChipInfo, parts []Part, opts FlashOptions) (FlashResult, error) {
	start := time.Now()
	var res FlashResult
	if err := CheckParts(ci, parts, opts); err != nil {
		return res, err
	}
	if opts.BlockSize == 0 {
		opts.BlockSize = 0x400
	}
	verify := !opts.NoVerify && (ci == nil || !ci.SecureDownload)
	allVerified := verify
	for _, p := range parts {
		data := p.Data
		if pad := len(data) % 4; pad != 0 { // flash writes are in words
			data = append(append([]byte(nil), data...), bytes.Repeat([]byte{0xFF}, 4-pad)...)
		}
		var sent int
		var err error
		if opts.Uncompressed {
			sent, err = c.writePlain(ctx, p, data, opts)
		} else {
			sent, err = c.writeDeflate(ctx, p, data, opts)
		}
		if err != nil {
			return res, err
		}
		res.Sent += sent
		res.Written += len(data)
		if verify && !p.Encrypt {
			if err := c.VerifyMD5(ctx, p.Offset, data); err != nil {
				return res, usererr.Errorf("", "%s: %w", p.name(), err)
			}
		} else {
			allVerified = false // the ROM encrypted it: only the board knows the ciphertext
		}
		res.PartsDone++
	}
	res.Verified = allVerified
	res.Duration = time.Since(start)
	return res, nil
}

// beginArgs lays out a _BEGIN command: the ROMs after the ESP32 take a
// fifth word, the "encrypt while writing" flag.
func (c *Client) beginArgs(size, blocks, blockSize, offset uint32, encrypt bool) []byte {
	w := []uint32{size, blocks, blockSize, offset}
	if c.chip == nil || c.chip.Chip != espimg.ESP32 {
		e := uint32(0)
		if encrypt {
			e = 1
		}
		w = append(w, e)
	}
	return words(w...)
}

// eraseTimeout grows with the region: the ROM erases it before answering.
func eraseTimeout(size int) time.Duration {
	return max(3*time.Second, time.Duration(size>>20+1)*30*time.Second)
}

func (c *Client) writePlain(ctx context.Context, p Part, data []byte, opts FlashOptions) (int, error) {
	bs := opts.BlockSize
	blocks := (len(data) + bs - 1) / bs
	if _, _, err := c.Command(ctx, OpFlashBegin, c.beginArgs(uint32(len(data)), uint32(blocks), uint32(bs), p.Offset, p.Encrypt), 0, eraseTimeout(len(data))); err != nil {
		return 0, usererr.Errorf("", "%s: %w", p.name(), err)
	}
	sent := 0
	for seq := 0; seq < blocks; seq++ {
		blk := data[seq*bs : min((seq+1)*bs, len(data))]
		if len(blk) < bs { // the last block is padded with erased flash
			blk = append(append([]byte(nil), blk...), bytes.Repeat([]byte{0xFF}, bs-len(blk))...)
		}
		if err := c.dataCmd(ctx, OpFlashData, seq, blk); err != nil {
			return sent, usererr.Errorf("", "%s: block %d of %d: %w", p.name(), seq+1, blocks, err)
		}
		sent += len(blk)
		if opts.Progress != nil {
			opts.Progress(p.name(), min((seq+1)*bs, len(data)), len(data))
		}
	}
	return sent, nil
}

func (c *Client) writeDeflate(ctx context.Context, p Part, data []byte, opts FlashOptions) (int, error) {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.DefaultCompression)
	zw.Write(data)
	zw.Close()
	comp := z.Bytes()
	bs := opts.BlockSize
	blocks := (len(comp) + bs - 1) / bs
	// The ROM loader takes the erase size rounded up to whole sectors.
	erase := uint32((len(data) + espimg.SectorSize - 1) / espimg.SectorSize * espimg.SectorSize)
	if _, _, err := c.Command(ctx, OpFlashDeflBegin, c.beginArgs(erase, uint32(blocks), uint32(bs), p.Offset, p.Encrypt), 0, eraseTimeout(len(data))); err != nil {
		return 0, usererr.Errorf("", "%s: %w", p.name(), err)
	}
	sent := 0
	for seq := 0; seq < blocks; seq++ {
		blk := comp[seq*bs : min((seq+1)*bs, len(comp))]
		if err := c.dataCmd(ctx, OpFlashDeflData, seq, blk); err != nil {
			return sent, usererr.Errorf("", "%s: block %d of %d: %w", p.name(), seq+1, blocks, err)
		}
		sent += len(blk)
		if opts.Progress != nil {
			opts.Progress(p.name(), min(len(data), int(int64(len(data))*int64(sent)/int64(len(comp)))), len(data))
		}
	}
	return sent, nil
}

// dataCmd sends one _DATA command. The ROM writes the block before it
// answers, so the timeout covers a flash write.
func (c *Client) dataCmd(ctx context.Context, op byte, seq int, blk []byte) error {
	payload := append(words(uint32(len(blk)), uint32(seq), 0, 0), blk...)
	_, _, err := c.Command(ctx, op, payload, Checksum(blk), c.opts.Timeout+2*time.Second)
	return err
}

// FlashEnd leaves the loader: reboot true restarts the chip into its
// flash, false stays in the loader (the ROM then only ends the write).
func (c *Client) FlashEnd(ctx context.Context, reboot bool) error {
	arg := uint32(1)
	if reboot {
		arg = 0
	}
	_, _, err := c.Command(ctx, OpFlashEnd, words(arg), 0, 0)
	return err
}

// FlashMD5 asks the chip for the MD5 of a flash region.
func (c *Client) FlashMD5(ctx context.Context, addr uint32, size int) ([]byte, error) {
	timeout := max(3*time.Second, time.Duration(size>>20+1)*8*time.Second)
	_, b, err := c.Command(ctx, OpSPIFlashMD5, words(addr, uint32(size), 0, 0), 0, timeout)
	if err != nil {
		var re *ROMError
		if errors.As(err, &re) && c.chip != nil && c.chip.SecureDownload {
			return nil, usererr.Errorf("", "%w: SPI_FLASH_MD5", ErrSecureDownload)
		}
		return nil, err
	}
	switch len(b) {
	case 32: // the ROM loader answers in hex
		sum, err := hex.DecodeString(string(b))
		if err != nil {
			return nil, usererr.Errorf("", "%w: MD5 answer %q is not hex", ErrProtocol, b)
		}
		return sum, nil
	case 16:
		return b, nil
	}
	return nil, usererr.Errorf("", "%w: MD5 answer of %d bytes", ErrProtocol, len(b))
}

// VerifyMD5 compares the flash at addr with data.
func (c *Client) VerifyMD5(ctx context.Context, addr uint32, data []byte) error {
	got, err := c.FlashMD5(ctx, addr, len(data))
	if err != nil {
		return err
	}
	want := md5.Sum(data)
	if !bytes.Equal(got, want[:]) {
		return usererr.Errorf("", "%w: flash at %#x holds MD5 %x, the data %x", ErrMD5Mismatch, addr, got, want)
	}
	return nil
}
