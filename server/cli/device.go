package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"trustforge/devices/serial"
	"trustforge/devices/smp"
)

const deviceSynopsis = `device --port PATH [--baud N] COMMAND

commands:
  echo [TEXT]            check the link: the board sends TEXT back
  info                   the board's OS, bootloader and SMP buffers
  params                 the board's SMP buffer size and count
  image list             the images in the board's slots
  image upload FILE      upload an MCUboot image into the board's upload slot
  image test HASH        boot the image with HASH once at the next reset
  image confirm [HASH]   keep the running image (or swap in HASH for good)
  image erase            erase the upload slot
  reset                  reset the board and report what it runs then

  provision --port PATH --ca DIR --product NAME ...
                         give the board its identity, certificate chain,
                         boot key and encryption key, then lock it
                         (trustforge device provision -h)

PATH is a serial port (/dev/ttyACM0, a pseudo-terminal such as boardsim's),
or the ws:// URL of a boardsim WebSocket. HASH is the image's SHA256 TLV in
hex, or a unique prefix of it.`

// deviceCommands lists the device subcommands that take flags of their own,
// given first: `trustforge device provision --port …`.
func deviceCommands() []command {
	return []command{
		{"provision", "give a board its identity, certificates and keys, then lock it", runDeviceProvision},
	}
}

// runDevice implements `trustforge device`: SMP (mcumgr) commands to a
// board on a serial line, so that a bench or a CI rig needs no other tool.
func runDevice(ctx context.Context, env Env, args []string) error {
	if len(args) > 0 {
		for _, c := range deviceCommands() {
			if c.name == args[0] {
				return c.run(ctx, env, args[1:])
			}
		}
	}
	fs := newFlagSet(env, "device", deviceSynopsis)
	var f deviceFlags
	f.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return usageErrorf("no command")
	}
	if err := f.check(); err != nil {
		return err
	}
	cmd, rest := pos[0], pos[1:]
	var run func(d *device, ctx context.Context) error
	switch cmd {
	case "echo":
		if len(rest) > 1 {
			return usageErrorf("echo takes one text at most; quote it")
		}
		text := "hello"
		if len(rest) == 1 {
			text = rest[0]
		}
		run = func(d *device, ctx context.Context) error { return d.echo(ctx, text) }
	case "info", "params", "reset":
		if len(rest) != 0 {
			return usageErrorf("%s takes no arguments", cmd)
		}
		run = map[string]func(*device, context.Context) error{
			"info": (*device).info, "params": (*device).params, "reset": (*device).reset,
		}[cmd]
	case "image":
		if run, err = imageCommand(&f, rest); err != nil {
			return err
		}
	default:
		return usageErrorf("unknown device command %q (see -h)", cmd)
	}

	d := &device{env: env, f: &f}
	d.opts = &smp.Options{Timeout: f.timeout, Retries: f.retries, V2: f.smpV2, Console: &d.console}
	if f.retries == 0 {
		d.opts.Retries = -1
	}
	if f.verbose {
		d.console.echo = env.Stderr
		d.opts.Debug = &lockedWriter{w: env.Stderr}
	}
	d.open = func(ctx context.Context) (smp.Transport, error) { return openTransport(ctx, f.port, f.baud) }
	tr, err := d.open(ctx)
	if err != nil {
		return err
	}
	d.c = smp.NewClient(tr, d.opts)
	defer func() { d.c.Close() }()
	return run(d, ctx)
}

// device is one session with a board.
type device struct {
	env     Env
	f       *deviceFlags
	opts    *smp.Options
	open    func(context.Context) (smp.Transport, error)
	c       *smp.Client
	console consoleLog
}

// reopen opens the port again, for a board whose port went away: a USB
// board that re-enumerates when it resets.
func (d *device) reopen(ctx context.Context) error {
	d.c.Close()
	tr, err := d.open(ctx)
	if err != nil {
		d.c = smp.NewClient(deadTransport{err}, d.opts)
		return err
	}
	d.c = smp.NewClient(tr, d.opts)
	return nil
}

// deadTransport stands for a port that could not be opened again.
type deadTransport struct{ err error }

func (t deadTransport) Read(context.Context, []byte) (int, error)  { return 0, t.err }
func (t deadTransport) Write(context.Context, []byte) (int, error) { return 0, t.err }
func (t deadTransport) Close() error                               { return nil }

// openTransport opens the board's serial port, or a WebSocket to boardsim.
func openTransport(ctx context.Context, port string, baud int) (smp.Transport, error) {
	if strings.HasPrefix(port, "ws://") || strings.HasPrefix(port, "wss://") {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(dctx, port, nil)
		if err != nil {
			return nil, fmt.Errorf("device: %w", err)
		}
		ws.SetReadLimit(1 << 20)
		return smp.FromStream(websocket.NetConn(context.Background(), ws, websocket.MessageBinary)), nil
	}
	p, err := serial.OpenPort(port, baud)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	return smp.FromStream(p), nil
}

func (d *device) echo(ctx context.Context, text string) error {
	got, err := d.c.Echo(ctx, text)
	if err != nil {
		return err
	}
	if got != text {
		return fmt.Errorf("device: the board echoed %q, not %q", got, text)
	}
	fmt.Fprintln(d.env.Stdout, got)
	return nil
}

func (d *device) params(ctx context.Context) error {
	p, err := d.c.Params(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.env.Stdout, "buf_size %d\nbuf_count %d\n", p.BufSize, p.BufCount)
	return nil
}

// info prints what the board tells of itself; commands a board does not
// support are reported as such, not as failures.
func (d *device) info(ctx context.Context) error {
	w := d.env.Stdout
	line := func(label, value string, err error) error {
		switch {
		case smp.IsRC(err, smp.RCNotSupported):
			value = "(not supported by the board)"
		case err != nil:
			return err
		}
		fmt.Fprintf(w, "%-12s %s\n", label+":", value)
		return nil
	}
	s, err := d.c.Info(ctx, "a")
	if err := line("os", s, err); err != nil {
		return err
	}
	bl, err := d.c.Bootloader(ctx)
	if err == nil {
		if mode, noDowngrade, merr := d.c.BootloaderMode(ctx); merr == nil {
			bl += " (" + mode.String()
			if noDowngrade {
				bl += ", refuses downgrades"
			}
			bl += ")"
		}
	}
	if err := line("bootloader", bl, err); err != nil {
		return err
	}
	p, err := d.c.Params(ctx)
	return line("smp buffers", fmt.Sprintf("%d x %d bytes", p.BufCount, p.BufSize), err)
}

// consoleLog keeps the text the board printed between frames, and echoes it
// with -v.
type consoleLog struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	echo io.Writer
}

func (c *consoleLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf.Len() > 1<<20 {
		c.buf.Reset()
	}
	c.buf.Write(p)
	if c.echo != nil {
		c.echo.Write(p)
	}
	return len(p), nil
}

// mark returns the current end of the log, for since.
func (c *consoleLog) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Len()
}

// since returns the lines printed after mark.
func (c *consoleLog) since(mark int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buf.Bytes()
	if mark > len(b) {
		mark = 0
	}
	var lines []string
	for _, l := range strings.Split(string(b[mark:]), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// parseHash decodes a full image hash, or resolves a unique hex prefix of
// one against the board's images.
func (d *device) parseHash(ctx context.Context, s string) ([]byte, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if _, err := hex.DecodeString(s + strings.Repeat("0", len(s)%2)); err != nil || s == "" {
		return nil, usageErrorf("%q is not an image hash in hex", s)
	}
	if len(s) == 64 {
		h, _ := hex.DecodeString(s)
		return h, nil
	}
	imgs, err := d.c.ImageState(ctx)
	if err != nil {
		return nil, err
	}
	var found []byte
	for _, im := range imgs {
		if strings.HasPrefix(hex.EncodeToString(im.Hash), s) {
			if found != nil {
				return nil, fmt.Errorf("device: hash prefix %s matches more than one image; give more of it", s)
			}
			found = im.Hash
		}
	}
	if found == nil {
		return nil, fmt.Errorf("device: no image on the board has a hash starting %s (see image list)", s)
	}
	return found, nil
}

var errBoardRefused = errors.New("the board refused the image")
