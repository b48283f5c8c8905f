package sim

import (
	"fmt"
	"time"

	"trustforge/devices/dfu"
)

// dfuMemory is what a DFU interface in DFU mode writes and reads: the
// device-specific half of the DFU state machine in dfuCore.
type dfuMemory interface {
	// download takes block (DNLOAD wValue) of the selected alternate
	// setting. It returns how long the device is busy with it (reported as
	// bwPollTimeout) and a status other than StatusOK to refuse it.
	download(alt uint8, block uint16, data []byte) (time.Duration, dfu.Status)
	// upload returns block of the selected alternate setting, at most n
	// bytes (fewer ends the upload), or a status to refuse it.
	upload(alt uint8, block uint16, n int) ([]byte, dfu.Status)
	// manifest ends a download: how long it takes, and its status.
	manifest(alt uint8) (time.Duration, dfu.Status)
	// manifested runs once manifestation is reported done.
	manifested(alt uint8)
}

// dfuCore is the device side of the DFU 1.1 state machine (DFU 1.1 section
// 6 and appendix A) in DFU mode. A GETSTATUS before the poll timeout the
// last answer gave has elapsed is refused, as a device busy writing flash
// cannot answer, so a host that does not honour bwPollTimeout fails.
type dfuCore struct {
	mem     dfuMemory
	fn      dfu.Functional
	alt     uint8
	state   dfu.State
	status  dfu.Status
	poll    time.Duration // bwPollTimeout of the next GETSTATUS answer
	busy    time.Time     // no GETSTATUS before this
	pending dfu.Status    // outcome of the operation in progress
	now     func() time.Time

	// polled sums the poll timeouts announced, as sent, for benchmarks.
	polled *time.Duration
}

func newDFUCore(mem dfuMemory, fn dfu.Functional) *dfuCore {
	return &dfuCore{mem: mem, fn: fn, state: dfu.DFUIdle, now: time.Now}
}

// fail moves to dfuERROR with status s, as a stalled request does.
func (c *dfuCore) fail(s dfu.Status, why string) error {
	c.state, c.status = dfu.DFUError, s
	c.busy, c.poll = time.Time{}, 0
	return fmt.Errorf("sim: %s: %w", why, dfu.ErrStall)
}

func (c *dfuCore) report() []byte {
	b := dfu.StatusReport{Status: c.status, PollTimeout: c.poll, State: c.state}.Bytes()
	if c.polled != nil {
		r, _ := dfu.ParseStatus(b)
		*c.polled += r.PollTimeout
	}
	return b
}

func (c *dfuCore) control(in bool, s dfu.Setup, data []byte, length int) ([]byte, error) {
	if s.Type != dfu.Class || s.Recipient != dfu.ToInterface {
		return nil, c.fail(dfu.StatusStalledPkt, fmt.Sprintf("request type %d/%d", s.Type, s.Recipient))
	}
	switch {
	case in && s.Request == 3: // GETSTATUS
		return c.getStatus()
	case in && s.Request == 5: // GETSTATE
		return []byte{byte(c.state)}, nil
	case !in && s.Request == 4: // CLRSTATUS
		if c.state != dfu.DFUError {
			return nil, c.fail(dfu.StatusStalledPkt, "CLRSTATUS outside dfuERROR")
		}
		c.state, c.status, c.poll = dfu.DFUIdle, dfu.StatusOK, 0
		return nil, nil
	case !in && s.Request == 6: // ABORT
		switch c.state {
		case dfu.DFUIdle, dfu.DFUDnloadSync, dfu.DFUDnloadIdle, dfu.DFUManifestSync, dfu.DFUUploadIdle:
			c.state, c.poll = dfu.DFUIdle, 0
			return nil, nil
		}
		return nil, c.fail(dfu.StatusStalledPkt, "ABORT in "+c.state.String())
	case !in && s.Request == 1: // DNLOAD
		return nil, c.dnload(s.Value, data)
	case in && s.Request == 2: // UPLOAD
		return c.upload(s.Value, length)
	case !in && s.Request == 0: // DETACH in DFU mode
		return nil, c.fail(dfu.StatusStalledPkt, "DETACH in DFU mode")
	}
	return nil, c.fail(dfu.StatusStalledPkt, fmt.Sprintf("request %d", s.Request))
}

func (c *dfuCore) getStatus() ([]byte, error) {
	now := c.now()
	if now.Before(c.busy) {
		return nil, c.fail(dfu.StatusStalledPkt, "GETSTATUS before bwPollTimeout elapsed")
	}
	switch c.state {
	case dfu.DFUDnloadSync:
		// The block received is now being written.
		c.state = dfu.DFUDnbusy
		r := c.report()
		c.busy = now.Add(c.poll)
		return r, nil
	case dfu.DFUDnbusy:
		c.poll = 0
		if c.pending != dfu.StatusOK {
			c.state, c.status = dfu.DFUError, c.pending
		} else {
			c.state = dfu.DFUDnloadIdle
		}
		return c.report(), nil
	case dfu.DFUManifestSync:
		if c.pending == dfu.StatusOK && c.poll == 0 {
			// Manifestation is over (a tolerant device).
			c.state = dfu.DFUIdle
			return c.report(), nil
		}
		c.state = dfu.DFUManifest
		c.busy = now.Add(c.poll)
		r := c.report()
		return r, nil
	case dfu.DFUManifest:
		c.poll = 0
		if c.pending != dfu.StatusOK {
			c.state, c.status = dfu.DFUError, c.pending
			return c.report(), nil
		}
		if c.fn.ManifestationTolerant {
			c.state = dfu.DFUManifestSync
		} else {
			c.state = dfu.DFUManifestWaitReset
		}
		r := c.report()
		c.mem.manifested(c.alt)
		return r, nil
	}
	return c.report(), nil
}

func (c *dfuCore) dnload(block uint16, data []byte) error {
	switch c.state {
	case dfu.DFUIdle, dfu.DFUDnloadIdle:
	default:
		return c.fail(dfu.StatusStalledPkt, "DNLOAD in "+c.state.String())
	}
	if len(data) > c.fn.TransferSize {
		return c.fail(dfu.StatusStalledPkt, fmt.Sprintf("DNLOAD of %d bytes, transfer size %d", len(data), c.fn.TransferSize))
	}
	if !c.fn.CanDownload {
		return c.fail(dfu.StatusStalledPkt, "DNLOAD on a device that cannot download")
	}
	if len(data) == 0 {
		d, st := c.mem.manifest(c.alt)
		c.state, c.poll, c.pending = dfu.DFUManifestSync, d, st
		if c.poll == 0 {
			c.poll = time.Millisecond
		}
		return nil
	}
	d, st := c.mem.download(c.alt, block, data)
	c.state, c.poll, c.pending = dfu.DFUDnloadSync, d, st
	return nil
}

func (c *dfuCore) upload(block uint16, n int) ([]byte, error) {
	switch c.state {
	case dfu.DFUIdle, dfu.DFUUploadIdle:
	default:
		return nil, c.fail(dfu.StatusStalledPkt, "UPLOAD in "+c.state.String())
	}
	if !c.fn.CanUpload {
		return nil, c.fail(dfu.StatusStalledPkt, "UPLOAD on a device that cannot upload")
	}
	if n > c.fn.TransferSize {
		return nil, c.fail(dfu.StatusStalledPkt, fmt.Sprintf("UPLOAD of %d bytes, transfer size %d", n, c.fn.TransferSize))
	}
	b, st := c.mem.upload(c.alt, block, n)
	if st != dfu.StatusOK {
		return nil, c.fail(st, "UPLOAD refused")
	}
	if len(b) < n {
		c.state = dfu.DFUIdle
	} else {
		c.state = dfu.DFUUploadIdle
	}
	return b, nil
}
