package sim

import (
	"compress/zlib"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"io"

	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
)

// ROM loader error codes.
const (
	espErrInvalid  = 0x05
	espErrFailed   = 0x06
	espErrChecksum = 0x07
	espErrDeflate  = 0x0b
)

// espWrite is a FLASH_BEGIN or FLASH_DEFL_BEGIN in progress.
type espWrite struct {
	deflate   bool
	encrypt   bool
	offset    uint32
	size      uint32 // erased region
	blocks    uint32
	blockSize uint32
	seq       uint32
	pos       uint32      // next flash address written
	in        chan []byte // compressed blocks for the inflater
	closed    bool
	done      chan struct{}
	err       error
}

// espBlocks is the inflater's input: the compressed blocks as they come.
type espBlocks struct {
	in  <-chan []byte
	cur []byte
}

func (r *espBlocks) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		b, ok := <-r.in
		if !ok {
			return 0, io.EOF
		}
		r.cur = b
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func espOK(op byte, value uint32, payload ...byte) []byte {
	return esprom.MarshalResponse(op, value, append(payload, 0, 0))
}

func espFail(op byte, code byte) []byte {
	return esprom.MarshalResponse(op, 0, []byte{1, code})
}

// handle answers one command frame. after, when not nil, runs once the
// answer is on the wire, with e.mu held.
func (e *ESPBoard) handle(frame []byte) (answer []byte, after func()) {
	req, err := esprom.ParseRequest(frame)
	if err != nil {
		return nil, nil // not a command: line noise, or our own echo
	}
	if req.Op == esprom.OpFlashDeflData {
		return e.deflData(req), nil // takes e.mu itself
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mode != espDownload {
		if req.Op == esprom.OpSync && e.cfg.SyncEntersDownload {
			e.resetLocked(true)
		} else {
			return nil, nil // the app does not speak the ROM protocol
		}
	}
	w := func(i int) uint32 {
		if len(req.Data) < 4*(i+1) {
			return 0
		}
		return binary.LittleEndian.Uint32(req.Data[4*i:])
	}
	sdm := e.sdm
	switch req.Op {
	case esprom.OpSync:
		if len(req.Data) != 36 || req.Data[0] != 0x07 || req.Data[1] != 0x07 {
			return espFail(req.Op, espErrInvalid), nil
		}
		return espOK(req.Op, 0), nil // Serve sends it eight times, as the ROM does
	case esprom.OpGetSecurityInfo:
		si := e.efuse.securityInfo(e.cfg.Revision).Marshal()
		if e.cfg.Chip == espimg.ESP32S3 {
			si = si[:12] // the ESP32-S3's ROM names no chip: clients read the magic register
		}
		return espOK(req.Op, 0, si...), nil
	case esprom.OpReadReg:
		if sdm || len(req.Data) != 4 {
			return espFail(req.Op, espErrInvalid), nil
		}
		return espOK(req.Op, e.readRegLocked(w(0))), nil
	case esprom.OpWriteReg:
		if sdm || len(req.Data) != 16 {
			return espFail(req.Op, espErrInvalid), nil
		}
		addr, val, mask := w(0), w(1), w(2)
		old := e.readRegLocked(addr)
		e.writeRegLocked(addr, old&^mask|val&mask)
		return espOK(req.Op, 0), nil
	case esprom.OpSPIAttach, esprom.OpSPISetParams:
		return espOK(req.Op, 0), nil
	case esprom.OpChangeBaud:
		baud := int(w(0))
		if baud < 9600 || baud > 5_000_000 {
			return espFail(req.Op, espErrInvalid), nil
		}
		return espOK(req.Op, 0), func() { e.setBaudLocked(baud); e.logf("baud rate now %d", baud) }
	case esprom.OpFlashBegin, esprom.OpFlashDeflBegin:
		return e.beginLocked(req, w), nil
	case esprom.OpFlashData:
		return e.flashDataLocked(req), nil
	case esprom.OpFlashEnd, esprom.OpFlashDeflEnd:
		e.finishWriteLocked()
		if w(0) == 0 { // reboot into the flash
			return espOK(req.Op, 0), func() { e.resetLocked(false) }
		}
		return espOK(req.Op, 0), nil
	case esprom.OpSPIFlashMD5:
		if sdm || len(req.Data) != 16 {
			return espFail(req.Op, espErrInvalid), nil
		}
		addr, size := w(0), w(1)
		if uint64(addr)+uint64(size) > uint64(len(e.flash)) {
			return espFail(req.Op, 0x0a), nil
		}
		sum := md5.Sum(e.flash[addr : addr+size])
		return espOK(req.Op, 0, []byte(hex.EncodeToString(sum[:]))...), nil
	}
	return espFail(req.Op, espErrInvalid), nil
}

func (e *ESPBoard) readRegLocked(addr uint32) uint32 {
	if v, ok := e.efuse.read(addr); ok {
		return v
	}
	switch {
	case addr == esprom.ChipMagicReg:
		if e.cfg.Chip == espimg.ESP32S3 {
			return 0x00000009
		}
		return 0x1B31506F
	case addr >= 0x60002000 && addr < 0x60002100:
		return e.spi[(addr-0x60002000)/4]
	}
	return 0
}

func (e *ESPBoard) writeRegLocked(addr, v uint32) {
	if e.efuse.write(addr, v) {
		return
	}
	if addr >= 0x60002000 && addr < 0x60002100 {
		i := (addr - 0x60002000) / 4
		e.spi[i] = v
		if i == 0 && v&(1<<18) != 0 { // SPI_USR: run the user command
			if e.spi[0x20/4]&0xFFFF == 0x9F { // JEDEC read id: Winbond, 25Q, capacity
				capb := uint32(0)
				for 1<<capb < len(e.flash) {
					capb++
				}
				e.spi[0x58/4] = 0xEF | 0x40<<8 | capb<<16
			}
			e.spi[0] &^= 1 << 18
		}
	}
}

func (e *ESPBoard) beginLocked(req esprom.Request, w func(int) uint32) []byte {
	if len(req.Data) != 16 && len(req.Data) != 20 {
		return espFail(req.Op, espErrInvalid)
	}
	e.abortWriteLocked()
	size, blocks, bs, off := w(0), w(1), w(2), w(3)
	encrypt := len(req.Data) == 20 && w(4) == 1
	if bs == 0 || bs > 0x10000 || off%espimg.SectorSize != 0 || uint64(off)+uint64(size) > uint64(len(e.flash)) {
		return espFail(req.Op, espErrInvalid)
	}
	if encrypt && (e.efuse.xtsKey() == nil || e.efuse.manualEncryptOff()) {
		return espFail(req.Op, espErrFailed)
	}
	// The ROM erases the whole region, in sectors, before answering.
	end := min(uint64(len(e.flash)), (uint64(off)+uint64(size)+espimg.SectorSize-1)/espimg.SectorSize*espimg.SectorSize)
	for i := uint64(off); i < end; i++ {
		e.flash[i] = 0xFF
	}
	e.writes++
	wr := &espWrite{deflate: req.Op == esprom.OpFlashDeflBegin, encrypt: encrypt, offset: off, size: uint32(end) - off,
		blocks: blocks, blockSize: bs, pos: off}
	if wr.deflate {
		wr.in, wr.done = make(chan []byte, 256), make(chan struct{})
		go e.inflate(wr, &espBlocks{in: wr.in})
	}
	e.wr = wr
	return espOK(req.Op, 0)
}

// writeFlashLocked programs flash as NOR flash does: bits only clear.
func (e *ESPBoard) writeFlashLocked(wr *espWrite, data []byte) bool {
	if uint64(wr.pos)+uint64(len(data)) > uint64(wr.offset)+uint64(wr.size) {
		return false
	}
	if wr.encrypt {
		ct, err := espimg.EncryptFlash(e.efuse.xtsKey(), wr.pos, padTo16(data))
		if err != nil {
			return false
		}
		data = ct[:len(data)]
	}
	for i, c := range data {
		e.flash[int(wr.pos)+i] &= c
	}
	wr.pos += uint32(len(data))
	e.writes++
	return true
}

func padTo16(b []byte) []byte {
	for len(b)%16 != 0 {
		b = append(b, 0xFF)
	}
	return b
}

// dataBlock checks a _DATA command's header and checksum.
func dataBlock(req esprom.Request, wr *espWrite) ([]byte, byte) {
	if len(req.Data) < 16 {
		return nil, espErrInvalid
	}
	n := binary.LittleEndian.Uint32(req.Data)
	seq := binary.LittleEndian.Uint32(req.Data[4:])
	blk := req.Data[16:]
	if uint32(len(blk)) != n || wr == nil || seq != wr.seq || n > wr.blockSize || seq >= wr.blocks {
		return nil, espErrInvalid
	}
	if esprom.Checksum(blk) != req.Checksum {
		return nil, espErrChecksum
	}
	return blk, 0
}

func (e *ESPBoard) flashDataLocked(req esprom.Request) []byte {
	wr := e.wr
	if wr == nil || wr.deflate {
		return espFail(req.Op, espErrInvalid)
	}
	blk, code := dataBlock(req, wr)
	if code != 0 {
		return espFail(req.Op, code)
	}
	if uint32(len(blk)) != wr.blockSize {
		return espFail(req.Op, espErrInvalid)
	}
	// The last block may reach past the erased region with padding.
	room := wr.offset + wr.size - wr.pos
	if uint32(len(blk)) > room {
		for _, c := range blk[room:] {
			if c != 0xFF {
				return espFail(req.Op, espErrInvalid)
			}
		}
		blk = blk[:room]
	}
	if !e.writeFlashLocked(wr, blk) {
		return espFail(req.Op, 0x08)
	}
	wr.seq++
	return espOK(req.Op, 0)
}

// deflData hands a compressed block to the write's inflater, which writes
// flash as it decodes. The last block's answer waits until the inflater has
// finished, so a verified write is complete; a decoding error is reported
// on the block after it happens.
func (e *ESPBoard) deflData(req esprom.Request) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mode != espDownload {
		return nil
	}
	wr := e.wr
	if wr == nil || !wr.deflate || wr.closed {
		return espFail(req.Op, espErrInvalid)
	}
	blk, code := dataBlock(req, wr)
	if code != 0 {
		return espFail(req.Op, code)
	}
	if wr.err != nil {
		return espFail(req.Op, espErrDeflate)
	}
	wr.seq++
	select {
	case wr.in <- append([]byte(nil), blk...):
	default:
		return espFail(req.Op, espErrFailed) // more blocks in flight than the ROM buffers
	}
	if wr.seq == wr.blocks {
		wr.closed = true
		close(wr.in)
		e.mu.Unlock()
		<-wr.done
		e.mu.Lock()
		if wr.err != nil {
			return espFail(req.Op, espErrDeflate)
		}
	}
	return espOK(req.Op, 0)
}

// inflate decodes a compressed write into flash.
func (e *ESPBoard) inflate(wr *espWrite, src io.Reader) {
	defer close(wr.done)
	fail := func(err error) {
		e.mu.Lock()
		wr.err = err
		e.mu.Unlock()
		io.Copy(io.Discard, src) // let the sender finish
	}
	zr, err := zlib.NewReader(src)
	if err != nil {
		fail(err)
		return
	}
	buf := make([]byte, 16<<10)
	for {
		n, err := zr.Read(buf)
		if n > 0 {
			e.mu.Lock()
			ok := e.wr == wr && e.writeFlashLocked(wr, buf[:n])
			e.mu.Unlock()
			if !ok {
				fail(io.ErrShortWrite)
				return
			}
		}
		if err == io.EOF {
			io.Copy(io.Discard, src)
			return
		}
		if err != nil {
			fail(err)
			return
		}
	}
}

// finishWriteLocked ends the current write (FLASH_END).
func (e *ESPBoard) finishWriteLocked() { e.abortWriteLocked() }

// abortWriteLocked drops a write in progress (reset, power loss, a new
// BEGIN): what was written stays written.
func (e *ESPBoard) abortWriteLocked() {
	if wr := e.wr; wr != nil && wr.in != nil && !wr.closed {
		wr.closed = true
		close(wr.in) // the inflater ends; e.wr no longer being it, it writes nothing more
	}
	e.wr = nil
}
