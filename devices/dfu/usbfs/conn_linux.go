//go:build linux

package usbfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"trustforge/devices/dfu"
)

// The usbfs ioctls (linux/usbdevice_fs.h), their numbers computed from the
// structures' sizes on this architecture.
type ctrlTransfer struct {
	requestType uint8
	request     uint8
	value       uint16
	index       uint16
	length      uint16
	timeout     uint32 // milliseconds
	data        unsafe.Pointer
}

type setInterface struct {
	iface, alt uint32
}

type ioctlReq struct {
	ifno int32
	code int32
	data unsafe.Pointer
}

const (
	iocWrite = 1
	iocRead  = 2
)

func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 'U'<<8 | nr }

var (
	ioctlControl    = ioc(iocRead|iocWrite, 0, unsafe.Sizeof(ctrlTransfer{}))
	ioctlSetIface   = ioc(iocRead, 4, unsafe.Sizeof(setInterface{}))
	ioctlClaim      = ioc(iocRead, 15, 4)
	ioctlRelease    = ioc(iocRead, 16, 4)
	ioctlIoctl      = ioc(iocRead|iocWrite, 18, unsafe.Sizeof(ioctlReq{}))
	ioctlReset      = ioc(0, 20, 0)
	ioctlDisconnect = ioc(0, 22, 0)
)

// defaultTimeout bounds a control transfer when ctx has no deadline.
const defaultTimeout = 5 * time.Second

// Conn is an open usbfs device node: a dfu.Control, dfu.Resetter and
// dfu.Closer.
type Conn struct {
	mu      sync.Mutex
	f       *os.File
	claimed map[uint8]bool
}

// Open opens the device node at path (Device.Path).
func Open(path string) (*Conn, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("usbfs: %w (a udev rule giving you the device, or root, is needed)", err)
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("usbfs: %s: %w", path, dfu.ErrDisconnected)
		}
		return nil, fmt.Errorf("usbfs: %w", err)
	}
	return &Conn{f: f, claimed: map[uint8]bool{}}, nil
}

func (c *Conn) ioctl(req uintptr, arg unsafe.Pointer) error {
	raw, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if err := raw.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return mapErrno(errno)
	}
	return nil
}

func mapErrno(e unix.Errno) error {
	switch e {
	case unix.EPIPE:
		return fmt.Errorf("usbfs: %w", dfu.ErrStall)
	case unix.ENODEV, unix.ESHUTDOWN, unix.ENOENT:
		return fmt.Errorf("usbfs: %w", dfu.ErrDisconnected)
	case unix.ETIMEDOUT:
		return fmt.Errorf("usbfs: the device did not answer in time: %w", e)
	}
	return fmt.Errorf("usbfs: %w", e)
}

func timeoutMS(ctx context.Context) uint32 {
	d := defaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	return uint32(max(d/time.Millisecond, 1))
}

func (c *Conn) control(ctx context.Context, s dfu.Setup, in bool, buf []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(buf) > 0xffff {
		return 0, fmt.Errorf("usbfs: a control transfer of %d bytes", len(buf))
	}
	if s.Recipient == dfu.ToInterface {
		if err := c.claim(uint8(s.Index)); err != nil {
			return 0, err
		}
	}
	ct := &ctrlTransfer{requestType: s.RequestTypeByte(in), request: s.Request, value: s.Value, index: s.Index,
		length: uint16(len(buf)), timeout: timeoutMS(ctx)}
	var pin runtime.Pinner
	defer pin.Unpin()
	if len(buf) > 0 {
		pin.Pin(&buf[0])
		ct.data = unsafe.Pointer(&buf[0])
	}
	pin.Pin(ct)
	raw, err := c.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n uintptr
	var errno unix.Errno
	if err := raw.Control(func(fd uintptr) {
		n, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, ioctlControl, uintptr(unsafe.Pointer(ct)))
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, mapErrno(errno)
	}
	return int(n), nil
}

// ControlIn makes an IN control transfer.
func (c *Conn) ControlIn(ctx context.Context, s dfu.Setup, length int) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	buf := make([]byte, length)
	n, err := c.control(ctx, s, true, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// ControlOut makes an OUT control transfer.
func (c *Conn) ControlOut(ctx context.Context, s dfu.Setup, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.control(ctx, s, false, append([]byte(nil), data...))
	return err
}

// claim claims an interface, detaching the kernel driver bound to it (a
// DFU run-time interface often has none; "usbfs" itself is fine).
func (c *Conn) claim(iface uint8) error {
	if c.claimed[iface] {
		return nil
	}
	n := uint32(iface)
	if err := c.ioctl(ioctlClaim, unsafe.Pointer(&n)); err != nil {
		if !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("usbfs: claiming interface %d: %w", iface, err)
		}
		req := ioctlReq{ifno: int32(iface), code: int32(ioctlDisconnect)}
		if err := c.ioctl(ioctlIoctl, unsafe.Pointer(&req)); err != nil {
			return fmt.Errorf("usbfs: detaching the kernel driver of interface %d: %w", iface, err)
		}
		if err := c.ioctl(ioctlClaim, unsafe.Pointer(&n)); err != nil {
			return fmt.Errorf("usbfs: claiming interface %d: %w", iface, err)
		}
	}
	c.claimed[iface] = true
	return nil
}

// SelectAlternate claims the interface and selects an alternate setting.
func (c *Conn) SelectAlternate(ctx context.Context, iface, alt uint8) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.claim(iface); err != nil {
		return err
	}
	si := setInterface{iface: uint32(iface), alt: uint32(alt)}
	if err := c.ioctl(ioctlSetIface, unsafe.Pointer(&si)); err != nil {
		return fmt.Errorf("usbfs: selecting alternate setting %d of interface %d: %w", alt, iface, err)
	}
	return nil
}

// Reset resets the device's port; the device re-enumerates.
func (c *Conn) Reset(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ioctl(ioctlReset, nil); err != nil && !errors.Is(err, dfu.ErrDisconnected) {
		return fmt.Errorf("usbfs: reset: %w", err)
	}
	return nil
}

// Close releases the claimed interfaces and closes the node.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for iface := range c.claimed {
		n := uint32(iface)
		_ = c.ioctl(ioctlRelease, unsafe.Pointer(&n))
	}
	return c.f.Close()
}
