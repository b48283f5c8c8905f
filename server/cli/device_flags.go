package cli

import (
	"flag"
	"fmt"
	"strconv"
	"time"

	"trustforge/devices/smp"
)

// deviceFlags are the options of `trustforge device`, parsed by the flag
// package like every command of trustforge's own; only the image and key
// commands take imgtool's option syntax.
type deviceFlags struct {
	port       string
	baud       int
	timeout    time.Duration
	retries    int
	smpV2      bool
	verbose    bool
	force      bool
	keys       stringList
	upgrade    bool
	packetSize int
	window     int
	noProgress bool
	slot       int
	noWait     bool
	boot       time.Duration
}

// register declares the flags on fs, with their defaults, and the short
// names -p, -b, -t, -v and -k.
func (f *deviceFlags) register(fs *flag.FlagSet) {
	f.timeout, f.boot = smp.DefaultTimeout, 30*time.Second
	fs.StringVar(&f.port, "port", "", "the board's serial port, pseudo-terminal or ws:// `URL` (required)")
	fs.StringVar(&f.port, "p", "", "short for -port")
	fs.IntVar(&f.baud, "baud", 115200, "serial speed in bits per second")
	fs.IntVar(&f.baud, "b", 115200, "short for -baud")
	fs.Var((*seconds)(&f.timeout), "timeout", "wait this long for each answer: 5s, 500ms, or seconds")
	fs.Var((*seconds)(&f.timeout), "t", "short for -timeout")
	fs.IntVar(&f.retries, "retries", smp.DefaultRetries, "send a request that is safe to repeat this many more times")
	fs.BoolVar(&f.smpV2, "smp-v2", false, "speak SMP version 2 (group-specific error codes)")
	fs.BoolVar(&f.verbose, "verbose", false, "show the board's console output and every SMP packet on stderr")
	fs.BoolVar(&f.verbose, "v", false, "short for -verbose")
	fs.BoolVar(&f.force, "force", false, "image upload: upload even when the file fails the local checks")
	fs.Var(&f.keys, "key", "image upload: check locally that one of these keys signed the image (`PUB.pem`, repeatable)")
	fs.Var(&f.keys, "k", "short for -key")
	fs.BoolVar(&f.upgrade, "upgrade", false, "image upload: ask the board to refuse an image not newer than the running one")
	fs.IntVar(&f.packetSize, "packet-size", 0, "image upload: bytes per request (0: the board's buffer size)")
	fs.IntVar(&f.window, "window", 0, "image upload: requests in flight (0: the board's buffer count)")
	fs.BoolVar(&f.noProgress, "no-progress", false, "image upload: no progress bar")
	fs.IntVar(&f.slot, "slot", 1, "image erase: the slot to erase")
	fs.BoolVar(&f.noWait, "no-wait", false, "reset: do not wait for the board to come back")
	fs.Var((*seconds)(&f.boot), "boot-timeout", "reset: wait this long for the board to come back")
}

// check refuses values out of range, after parsing.
func (f *deviceFlags) check() error {
	if f.port == "" {
		return usageErrorf("missing required option --port")
	}
	for _, r := range []struct {
		name      string
		v, lo, hi int
	}{
		{"baud", f.baud, 1, 1 << 30},
		{"retries", f.retries, 0, 100},
		{"packet-size", f.packetSize, 0, 1 << 16},
		{"window", f.window, 0, 64},
		{"slot", f.slot, 0, 1},
	} {
		if r.v < r.lo || r.v > r.hi {
			return usageErrorf("--%s: %d is not a number from %d to %d", r.name, r.v, r.lo, r.hi)
		}
	}
	return nil
}

// seconds is a duration flag that also takes a plain number of seconds,
// as mcumgr's timeouts are written.
type seconds time.Duration

func (s *seconds) String() string { return time.Duration(*s).String() }

func (s *seconds) Set(v string) error {
	if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
		*s = seconds(n * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("%q is not a duration such as 5s or 500ms", v)
	}
	*s = seconds(d)
	return nil
}
