package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"trustforge/devices/dfu"
)

// usbFunction is what a simulated USB device is at one enumeration: its
// descriptors and its answers to class requests. A device that
// re-enumerates (a DFU detach, a reset into another firmware) swaps one
// function for another.
type usbFunction interface {
	// descriptor returns the device descriptor (string indexes into
	// strings, index 1 first) and the configuration's alternate settings.
	descriptor() (d dfu.DeviceDescriptor, strings []string, alts []dfu.AltSetting)
	// control answers a class or vendor request; in says its direction.
	control(in bool, s dfu.Setup, data []byte, length int) ([]byte, error)
	// selectAlt selects an alternate setting.
	selectAlt(iface, alt uint8) error
	// busReset is a USB reset of the device.
	busReset()
}

// USBInfo is a simulated USB device's descriptors, as a host enumerating it
// reads them.
type USBInfo struct {
	Device dfu.DeviceDescriptor
	// Strings are the string descriptors, Strings[0] at index 1.
	Strings []string
	// Alternates are the configuration's alternate settings, names filled
	// in.
	Alternates []dfu.AltSetting
	// Config is the configuration descriptor as the device sends it.
	Config []byte
}

// USB is the USB port of a simulated device: a host attaches to it and
// makes control transfers while the device is plugged in and enumerated.
// Re-enumeration and unplugging end every attachment, as on a real bus.
type USB struct {
	mu       sync.Mutex
	fn       usbFunction
	present  bool
	plugged  bool
	gen      int
	watchers map[int]chan bool
	nextW    int
	timers   []*time.Timer
	// enumerate is how long re-enumeration takes.
	enumerate time.Duration
	// plugIn, when set, gives the function a device enumerates as when
	// plugged back in (a bus-powered device has rebooted).
	plugIn func() usbFunction
	// polled sums the bwPollTimeouts the device's DFU functions announced.
	polled time.Duration
}

// PollTime returns the sum of the bwPollTimeouts the device has announced
// (as sent, in whole milliseconds): no host can have spent less time
// talking to it.
func (u *USB) PollTime() time.Duration {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.polled
}

func newUSB(fn usbFunction, enumerate time.Duration) *USB {
	return &USB{fn: fn, present: true, plugged: true, watchers: map[int]chan bool{}, enumerate: enumerate}
}

// Present reports whether the device is plugged in and enumerated.
func (u *USB) Present() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.present
}

// Info returns the descriptors of the device as enumerated now.
func (u *USB) Info() USBInfo {
	u.mu.Lock()
	defer u.mu.Unlock()
	return infoOf(u.fn)
}

func infoOf(fn usbFunction) USBInfo {
	d, strs, alts := fn.descriptor()
	alts = append([]dfu.AltSetting(nil), alts...)
	for i := range alts {
		if n := int(alts[i].NameIndex); n > 0 && n <= len(strs) {
			alts[i].Name = strs[n-1]
		}
	}
	return USBInfo{Device: d, Strings: strs, Alternates: alts, Config: dfu.BuildConfiguration(alts)}
}

// Watch calls f with false when the device disappears (unplugged, or gone
// to re-enumerate) and true when it appears again as a new device, in the
// order it happens, from a goroutine of its own. The returned function
// stops the calls.
func (u *USB) Watch(f func(present bool)) (stop func()) {
	u.mu.Lock()
	defer u.mu.Unlock()
	id := u.nextW
	u.nextW++
	ch := make(chan bool, 64)
	u.watchers[id] = ch
	go func() {
		for p := range ch {
			f(p)
		}
	}()
	return func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		if _, ok := u.watchers[id]; ok {
			delete(u.watchers, id)
			close(ch)
		}
	}
}

func (u *USB) notifyLocked(present bool) {
	for _, ch := range u.watchers {
		select {
		case ch <- present:
		default: // a watcher 64 events behind loses events
		}
	}
}

// Unplug pulls the cable: attachments fail with dfu.ErrDisconnected.
func (u *USB) Unplug() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.plugged = false
	u.goneLocked()
}

// Plug puts the cable back: the device enumerates again after its
// enumeration time, with the function it has then.
func (u *USB) Plug() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.plugged {
		return
	}
	u.plugged = true
	var fn usbFunction
	if u.plugIn != nil {
		fn = u.plugIn()
	}
	u.comeBackLocked(fn)
}

func (u *USB) goneLocked() {
	u.gen++
	if u.present {
		u.present = false
		u.notifyLocked(false)
	}
}

// reenumerateLocked takes the device off the bus and brings it back, after
// the enumeration time, as fn (nil: the same function). A device with no
// function (nil fn and off) stays away: offLocked does that.
func (u *USB) reenumerateLocked(fn usbFunction) {
	u.goneLocked()
	u.comeBackLocked(fn)
}

// offLocked takes the device off the bus for good (its firmware no longer
// runs USB), until reenumerateLocked brings it back.
func (u *USB) offLocked() { u.goneLocked() }

func (u *USB) comeBackLocked(fn usbFunction) {
	gen := u.gen
	back := func() {
		if u.gen != gen || !u.plugged {
			return
		}
		if fn != nil {
			u.fn = fn
		}
		u.present = true
		u.gen++
		u.notifyLocked(true)
	}
	if u.enumerate <= 0 {
		back()
		return
	}
	u.timers = append(u.timers, time.AfterFunc(u.enumerate, func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		back()
	}))
}

// Attach returns a control pipe to the device as enumerated now. It fails
// with dfu.ErrDisconnected while the device is away.
func (u *USB) Attach() (*USBConn, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.present {
		return nil, fmt.Errorf("sim: %w", dfu.ErrDisconnected)
	}
	return &USBConn{u: u, gen: u.gen}, nil
}

// Find waits for the device to be present and attaches to it; it is a
// dfu.Finder.
func (u *USB) Find(ctx context.Context) (dfu.Control, error) {
	for {
		c, err := u.Attach()
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// USBConn is a host's attachment to a simulated USB device: a dfu.Control
// (and dfu.Resetter) valid until the device leaves the bus.
type USBConn struct {
	u   *USB
	gen int
}

func (c *USBConn) lock() (usbFunction, error) {
	c.u.mu.Lock()
	if c.gen != c.u.gen || !c.u.present {
		c.u.mu.Unlock()
		return nil, fmt.Errorf("sim: %w", dfu.ErrDisconnected)
	}
	return c.u.fn, nil
}

// ControlIn makes an IN control transfer.
func (c *USBConn) ControlIn(ctx context.Context, s dfu.Setup, length int) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fn, err := c.lock()
	if err != nil {
		return nil, err
	}
	defer c.u.mu.Unlock()
	if s.Type == dfu.Standard && s.Recipient == dfu.ToDevice && s.Request == 6 {
		b, err := descriptorOf(fn, s)
		if err != nil {
			return nil, err
		}
		return b[:min(len(b), length)], nil
	}
	if s.Type == dfu.Standard {
		return nil, fmt.Errorf("sim: standard request %d: %w", s.Request, dfu.ErrStall)
	}
	b, err := fn.control(true, s, nil, length)
	if len(b) > length {
		b = b[:length]
	}
	return b, err
}

// ControlOut makes an OUT control transfer.
func (c *USBConn) ControlOut(ctx context.Context, s dfu.Setup, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fn, err := c.lock()
	if err != nil {
		return err
	}
	defer c.u.mu.Unlock()
	if s.Type == dfu.Standard {
		return fmt.Errorf("sim: standard request %d: %w", s.Request, dfu.ErrStall)
	}
	_, err = fn.control(false, s, data, 0)
	return err
}

// SelectAlternate selects an alternate setting.
func (c *USBConn) SelectAlternate(ctx context.Context, iface, alt uint8) error {
	fn, err := c.lock()
	if err != nil {
		return err
	}
	defer c.u.mu.Unlock()
	return fn.selectAlt(iface, alt)
}

// Reset resets the device (a USB bus reset).
func (c *USBConn) Reset(ctx context.Context) error {
	fn, err := c.lock()
	if err != nil {
		return err
	}
	defer c.u.mu.Unlock()
	fn.busReset()
	return nil
}

// descriptorOf answers GET_DESCRIPTOR.
func descriptorOf(fn usbFunction, s dfu.Setup) ([]byte, error) {
	info := infoOf(fn)
	typ, idx := uint8(s.Value>>8), uint8(s.Value)
	switch typ {
	case 1:
		return info.Device.Bytes(), nil
	case 2:
		if idx == 0 {
			return info.Config, nil
		}
	case 3:
		if idx == 0 {
			return []byte{4, 3, 0x09, 0x04}, nil
		}
		if int(idx) <= len(info.Strings) {
			return dfu.BuildString(info.Strings[idx-1]), nil
		}
	}
	return nil, fmt.Errorf("sim: descriptor %d/%d: %w", typ, idx, dfu.ErrStall)
}
