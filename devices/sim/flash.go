package sim

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Flash errors.
var (
	// ErrNotErased is returned for a write over bytes that are not erased:
	// NOR flash must be erased before it is written again.
	ErrNotErased = errors.New("sim: flash write over bytes that are not erased")
	// ErrAlignment is returned for a write or erase that is not aligned.
	ErrAlignment = errors.New("sim: unaligned flash access")
)

const erasedByte = 0xff

// Flash is a NOR flash device: erased bytes read 0xff, writes must be
// aligned and land on erased bytes, erases clear whole sectors. When backed
// by a file every change is written through, so the contents survive power
// cycles and restarts of the simulator.
type Flash struct {
	size, sector, align int
	data                []byte
	file                *os.File // nil when in memory only
}

// OpenFlash returns a flash device of size bytes with the given sector size
// and write alignment. An empty path keeps it in memory; otherwise the file
// at path holds it, created erased when missing.
func OpenFlash(path string, size, sector, align int) (*Flash, error) {
	if size <= 0 || sector <= 0 || size%sector != 0 || align <= 0 || sector%align != 0 {
		return nil, fmt.Errorf("sim: flash of %d bytes with %d-byte sectors and %d-byte alignment is not a valid geometry", size, sector, align)
	}
	f := &Flash{size: size, sector: sector, align: align, data: make([]byte, size)}
	if path == "" {
		for i := range f.data {
			f.data[i] = erasedByte
		}
		return f, nil
	}
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sim: flash file: %w", err)
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("sim: flash file: %w", err)
	}
	switch st.Size() {
	case 0:
		for i := range f.data {
			f.data[i] = erasedByte
		}
		if _, err := file.WriteAt(f.data, 0); err != nil {
			file.Close()
			return nil, fmt.Errorf("sim: flash file: %w", err)
		}
	case int64(size):
		if _, err := io.ReadFull(io.NewSectionReader(file, 0, int64(size)), f.data); err != nil {
			file.Close()
			return nil, fmt.Errorf("sim: flash file: %w", err)
		}
	default:
		file.Close()
		return nil, fmt.Errorf("sim: flash file %s holds %d bytes, but this board's flash is %d bytes: start it with the slot size the file was made with, or use another file", path, st.Size(), size)
	}
	f.file = file
	return f, nil
}

// Size returns the size of the device in bytes.
func (f *Flash) Size() int { return f.size }

// SectorSize returns the erase unit.
func (f *Flash) SectorSize() int { return f.sector }

// Align returns the write alignment.
func (f *Flash) Align() int { return f.align }

func (f *Flash) check(off, n, unit int, what string) error {
	if off < 0 || n < 0 || off+n > f.size {
		return fmt.Errorf("sim: flash %s of %d bytes at %#x is outside the %#x-byte device", what, n, off, f.size)
	}
	if off%unit != 0 || n%unit != 0 {
		return fmt.Errorf("%w: %s of %d bytes at %#x, unit %d", ErrAlignment, what, n, off, unit)
	}
	return nil
}

// Read returns a copy of n bytes at off.
func (f *Flash) Read(off, n int) ([]byte, error) {
	if err := f.check(off, n, 1, "read"); err != nil {
		return nil, err
	}
	return append([]byte(nil), f.data[off:off+n]...), nil
}

// view returns the bytes at off without copying; callers must not keep or
// modify them.
func (f *Flash) view(off, n int) []byte { return f.data[off : off+n : off+n] }

// Erase erases the sectors in [off, off+n).
func (f *Flash) Erase(off, n int) error {
	if err := f.check(off, n, f.sector, "erase"); err != nil {
		return err
	}
	for i := off; i < off+n; i++ {
		f.data[i] = erasedByte
	}
	return f.persist(off, n)
}

// Write programs p at off; off and len(p) must be aligned and the bytes
// erased.
func (f *Flash) Write(off int, p []byte) error {
	if err := f.check(off, len(p), f.align, "write"); err != nil {
		return err
	}
	for i := range p {
		if f.data[off+i] != erasedByte {
			return fmt.Errorf("%w: byte %#x", ErrNotErased, off+i)
		}
	}
	copy(f.data[off:], p)
	return f.persist(off, len(p))
}

func (f *Flash) persist(off, n int) error {
	if f.file == nil || n == 0 {
		return nil
	}
	if _, err := f.file.WriteAt(f.data[off:off+n], int64(off)); err != nil {
		return fmt.Errorf("sim: flash file: %w", err)
	}
	return nil
}

// Close writes the contents to stable storage and closes the file.
func (f *Flash) Close() error {
	if f.file == nil {
		return nil
	}
	err := f.file.Sync()
	if cerr := f.file.Close(); err == nil {
		err = cerr
	}
	f.file = nil
	return err
}
