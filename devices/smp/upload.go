package smp

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"trustforge/internal/cbor"

	"trustforge/devices/serial"
	"trustforge/internal/usererr"
)

// LinePacket is the largest SMP packet whose serial frame fits one 127-byte
// line. Upload falls back to it, one request at a time, for a board that does
// not report its buffers: every SMP board accepts that.
const LinePacket = (serial.MaxLine-3)/4*3 - 4

// frameOverhead is what the serial framing adds inside a board's buffer: the
// length field and the CRC are decoded into it with the packet.
const frameOverhead = 4

// ErrUploadMismatch is returned when the board reports that what it received
// does not hash to the SHA-256 of the file.
var ErrUploadMismatch = errors.New("the board's SHA-256 of the upload does not match the file")

// UploadOptions configure Upload. The zero value is ready to use.
type UploadOptions struct {
	// Image is the image number to upload to; zero is the application.
	Image int

	// PacketSize bounds each request packet, header and CBOR body. Zero
	// means the board's reported buffer size, or LinePacket when it
	// reports none.
	PacketSize int

	// Window is how many requests may be in flight. Zero means the board's
	// reported buffer count, or 1 when it reports none.
	Window int

	// Upgrade asks the board to refuse an image that is not newer than
	// the running one.
	Upgrade bool

	// Progress, if not nil, is called each time the board confirms more
	// bytes, from the goroutine calling Upload.
	Progress func(UploadProgress)
}

// UploadProgress reports how far an upload has come.
type UploadProgress struct {
	Offset  int64 // bytes the board holds
	Total   int64 // bytes of the image
	Start   int64 // offset this run began at: non-zero when it resumed
	Elapsed time.Duration
	Rate    float64       // bytes per second since the start
	ETA     time.Duration // estimate of the time left; zero when unknown
}

// UploadResult describes a finished upload.
type UploadResult struct {
	Size       int64 // bytes of the image
	Start      int64 // offset the run began at: non-zero when it resumed
	Elapsed    time.Duration
	PacketSize int  // largest request packet used
	Window     int  // requests in flight
	Requests   int  // requests sent
	Rewinds    int  // times the upload went back to the board's offset
	Checked    bool // the board confirmed the SHA-256 of what it received
}

type uploadReq struct {
	Image   int    `cbor:"image,omitempty"`
	Len     int64  `cbor:"len,omitempty"`
	Off     int64  `cbor:"off"`
	SHA     []byte `cbor:"sha,omitempty"`
	Data    []byte `cbor:"data"`
	Upgrade bool   `cbor:"upgrade,omitempty"`
}

type uploadAnswer struct {
	Off   *int64 `cbor:"off"`
	Match *bool  `cbor:"match"`
}

// flight is an upload request waiting for its answer.
type flight struct {
	call  *call
	off   int64
	n     int64
	epoch int
}

// Upload writes img into the board's upload slot (slot 1 of opts.Image).
//
// The first request carries the length and the SHA-256 of img. A board that
// holds part of the same upload, because the link dropped or an earlier run
// was stopped, answers with its offset, and Upload goes on from there. When
// an answer shows the board expects another offset (a request was lost, the
// board restarted), Upload goes back to that offset. It gives up once the
// board stays silent through the client's retries; running it again resumes.
func (c *Client) Upload(ctx context.Context, img []byte, opts *UploadOptions) (*UploadResult, error) {
	var o UploadOptions
	if opts != nil {
		o = *opts
	}
	total := int64(len(img))
	if total == 0 {
		return nil, usererr.New("smp", "image upload: the image is empty")
	}
	if o.PacketSize == 0 || o.Window == 0 {
		p, err := c.paramsOnce(ctx)
		switch {
		case err == nil && p.BufSize > 0:
			if o.PacketSize == 0 {
				o.PacketSize = p.BufSize - frameOverhead
			}
			if o.Window == 0 {
				o.Window = max(p.BufCount, 1)
			}
		case ctx.Err() != nil:
			return nil, usererr.Errorf("smp", "image upload: %w", ctx.Err())
		default:
			c.debugf("image upload: no buffer parameters (%v); one line per request", err)
		}
		if o.PacketSize == 0 {
			o.PacketSize = LinePacket
		}
		if o.Window == 0 {
			o.Window = 1
		}
	}
	sum := sha256.Sum256(img)
	u := &upload{c: c, o: o, img: img, total: total, sha: sum[:]}
	return u.run(ctx)
}

// paramsOnce asks for the board's buffer parameters once, without retries:
// boards without the command may not answer at all.
func (c *Client) paramsOnce(ctx context.Context) (Params, error) {
	var p Params
	err := c.Do(ctx, Request{Name: "mcumgr params", Op: OpRead, Group: GroupOS, ID: CmdParams}, &p)
	return p, err
}

type upload struct {
	c     *Client
	o     UploadOptions
	img   []byte
	total int64
	sha   []byte
	noSHA bool // the first request went without the SHA-256

	res UploadResult

	// The state of a run.
	acked     int64 // the board's offset, as it last reported
	next      int64 // offset of the next request to send
	epoch     int   // bumped each time the upload goes back
	queue     []flight
	lastReply time.Time
	timeouts  int           // timeouts in a row
	timeout   time.Duration // the client's timeout per request
	start     time.Time     // when the run began, on the client's clock
}

// request builds the request carrying as much of img from off as fits.
func (u *upload) request(off int64) (uploadReq, error) {
	r := uploadReq{Off: off}
	if off == 0 {
		r.Image, r.Len, r.SHA, r.Upgrade = u.o.Image, u.total, u.sha, u.o.Upgrade
	}
	n, err := u.room(r)
	if err != nil {
		return r, err
	}
	// The first chunk must hold the 32-byte image header. When a packet
	// of one line cannot carry it with the SHA-256, leave the SHA-256 out,
	// as one-line boards (MCUboot serial recovery) ignore it anyway.
	if off == 0 && n < 32 && int64(n) < u.total {
		r.SHA, u.noSHA = nil, true
		if n, err = u.room(r); err != nil {
			return r, err
		}
	}
	if n <= 0 || off == 0 && n < 32 && int64(n) < u.total {
		return r, usererr.Errorf("", "packet size %d leaves no room for image data", u.o.PacketSize)
	}
	r.Data = u.img[off : off+int64(n)]
	return r, nil
}

// room returns how many bytes of data fit in r within the packet size.
func (u *upload) room(r uploadReq) (int, error) {
	r.Data = nil
	empty, err := cbor.Marshal(r)
	if err != nil {
		return 0, err
	}
	room := u.o.PacketSize - HeaderLen - (len(empty) - 1)
	n := room - 1
	for n > 0 && n+bstrHead(n) > room {
		n--
	}
	return min(n, int(u.total-r.Off)), nil
}

// bstrHead is the size of the CBOR head of an n-byte byte string.
func bstrHead(n int) int {
	switch {
	case n < 24:
		return 1
	case n < 1<<8:
		return 2
	case n < 1<<16:
		return 3
	}
	return 5
}

// run uploads until the board holds the whole image: it keeps the window
// full, waits for the oldest request and follows the board's offset.
func (u *upload) run(ctx context.Context) (*UploadResult, error) {
	c := u.c
	u.start, u.lastReply, u.timeout = c.now(), time.Now(), c.timeout()
	u.res = UploadResult{Size: u.total, Start: -1, Window: u.o.Window}
	for u.acked < u.total {
		if err := u.send(ctx); err != nil {
			return u.fail(err)
		}
		f := u.queue[0]
		u.queue = u.queue[1:]
		a, err := u.wait(ctx, f)
		if errors.Is(err, ErrTimeout) {
			if err := u.timedOut(f); err != nil {
				return u.fail(err)
			}
			continue
		}
		if err != nil {
			return u.fail(err)
		}
		u.lastReply = time.Now()
		var ans uploadAnswer
		if err := decodeAnswer("image upload", GroupImage, a.body, &ans); err != nil {
			u.forgetQueue()
			return &u.res, err
		}
		if err := u.answered(f, ans); err != nil {
			return u.fail(err)
		}
	}
	u.forgetQueue()
	u.res.Elapsed = c.now().Sub(u.start)
	return &u.res, nil
}

// fail ends a run with err, forgetting the requests still in flight.
func (u *upload) fail(err error) (*UploadResult, error) {
	u.forgetQueue()
	return &u.res, usererr.Errorf("smp", "image upload: %w", err)
}

// forgetQueue stops waiting for the requests in flight.
func (u *upload) forgetQueue() {
	for _, f := range u.queue {
		u.c.forget(f.call)
	}
}

// send fills the window with requests. Until the board confirms the
// start of a session, only the first request travels: it may erase the
// slot, or answer with the offset of an upload it already holds.
func (u *upload) send(ctx context.Context) error {
	window := u.o.Window
	if u.acked == 0 {
		window = 1
	}
	hdr := Header{Op: OpWrite, Group: GroupImage, ID: CmdImageUpload}
	for len(u.queue) < window && u.next < u.total {
		req, err := u.request(u.next)
		if err != nil {
			return err
		}
		body, err := cbor.Marshal(req)
		if err != nil {
			return err
		}
		u.res.PacketSize = max(u.res.PacketSize, HeaderLen+len(body))
		cl, err := u.c.start(ctx, hdr, body, u.timeout)
		if err != nil {
			return err
		}
		u.res.Requests++
		u.queue = append(u.queue, flight{call: cl, off: u.next, n: int64(len(req.Data)), epoch: u.epoch})
		u.next += int64(len(req.Data))
	}
	if len(u.queue) == 0 {
		return usererr.Errorf("", "nothing in flight at offset %d of %d", u.acked, u.total)
	}
	return nil
}

// wait waits for f's answer. The board answers in order, so f is the
// oldest request: its timeout runs from when it was sent or the board
// last answered, whichever is later. The first request may erase a whole
// slot and gets four times as long.
func (u *upload) wait(ctx context.Context, f flight) (answer, error) {
	wait := u.timeout
	if f.off == 0 {
		wait *= 4
	}
	from := f.call.sent
	if u.lastReply.After(from) {
		from = u.lastReply
	}
	return u.c.await(ctx, f.call, from.Add(wait))
}

// timedOut goes back to the board's offset after f went unanswered, or
// gives up once the board stays silent through the client's retries.
func (u *upload) timedOut(f flight) error {
	if f.epoch != u.epoch {
		return nil // a request that was already given up on
	}
	if u.timeouts++; u.timeouts > u.c.retries() {
		return usererr.Errorf("", "%w at offset %d of %d; run the upload again to resume", ErrTimeout, u.acked, u.total)
	}
	u.c.debugf("image upload: no answer for offset %d; going back to %d", f.off, u.acked)
	u.goBack(u.acked)
	return nil
}

// goBack sends from off on, ignoring the answers to requests in flight.
func (u *upload) goBack(off int64) {
	u.epoch++
	u.next = off
	u.res.Rewinds++
}

// answered follows the board's answer to f: the offset it holds (a resumed
// upload, or one it expects other than f's end) and the SHA-256 check.
func (u *upload) answered(f flight, ans uploadAnswer) error {
	if f.epoch != u.epoch {
		return nil
	}
	if ans.Off == nil {
		return errors.New("the board's answer has no offset")
	}
	off := *ans.Off
	if off < 0 || off > u.total {
		return usererr.Errorf("", "the board reports offset %d of a %d-byte image", off, u.total)
	}
	u.timeouts = 0
	switch {
	case u.res.Start < 0 && off != f.off+f.n:
		// The board resumed an upload it already held.
		u.res.Start = off
		u.epoch++
		u.next = off
	case u.res.Start < 0:
		u.res.Start = f.off
	case off != f.off+f.n:
		u.c.debugf("image upload: the board expects offset %d, not %d", off, f.off+f.n)
		u.goBack(off)
	}
	if ans.Match != nil && !u.noSHA {
		if !*ans.Match {
			return ErrUploadMismatch
		}
		u.res.Checked = true
	}
	if off != u.acked {
		u.acked = off
		u.progress(u.start, u.acked)
	}
	return nil
}

func (u *upload) progress(start time.Time, off int64) {
	if u.o.Progress == nil {
		return
	}
	p := UploadProgress{Offset: off, Total: u.total, Start: max(u.res.Start, 0), Elapsed: u.c.now().Sub(start)}
	if s := p.Elapsed.Seconds(); s > 0 {
		p.Rate = float64(off-p.Start) / s
	}
	if p.Rate > 0 {
		p.ETA = time.Duration(float64(u.total-off) / p.Rate * float64(time.Second))
	}
	u.o.Progress(p)
}
