package sim

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"trustforge/crypto/mcuimg"
	"trustforge/devices/serial"
	"trustforge/devices/smp"
)

// linkCeiling is the most image bytes per second a UART at baud can carry
// through the SMP serial framing: 10 bits a byte (8N1), and 93 bytes of data
// in every full 127-byte line of base64.
func linkCeiling(baud int) float64 {
	raw := float64(baud) / 10
	return raw * float64((serial.MaxLine-3)/4*3) / float64(serial.MaxLine)
}

// image256K returns an unsigned MCUboot image of exactly 256 KiB.
func image256K(b *testing.B, version uint8) []byte {
	b.Helper()
	const size = 256 << 10
	n := size - 0x200 - 64
	for {
		payload := make([]byte, n)
		rand.Read(payload)
		img, err := mcuimg.Sign(payload, &mcuimg.SignOptions{Version: mcuimg.Version{Major: version}, HeaderSize: 0x200, PadHeader: true})
		if err != nil {
			b.Fatal(err)
		}
		if len(img) == size {
			return img
		}
		n += size - len(img)
	}
}

// BenchmarkUpload uploads a 256 KiB image through the board simulator's
// paced UART on a real pseudo-terminal: as trustforge does (packets sized
// from the board's buffers, as many in flight as it has buffers), as the
// upstream mcumgr client does (stop-and-wait, one 82-byte packet per
// request, as its session log shows), and as a stop-and-wait client filling
// each request's one 127-byte line. It reports KiB/s and the share of the
// link's payload ceiling. The pacing is real time: run it with
// -benchtime=1x.
func BenchmarkUpload(b *testing.B) {
	type client struct {
		name  string
		bufSz int
		opts  *smp.UploadOptions // nil: the mcumgr client's requests
	}
	clients := []client{
		{"trustforge", 0, &smp.UploadOptions{}},
		{"mcumgr", 0, nil},
		{"stop-and-wait-full-lines", 0, &smp.UploadOptions{PacketSize: smp.LinePacket, Window: 1}},
		{"trustforge-384B-buffers", 384, &smp.UploadOptions{}},
	}
	for _, baud := range []int{115200, 1000000} {
		for _, cl := range clients {
			if baud == 115200 && (cl.bufSz != 0 || cl.opts != nil && cl.opts.Window == 1) {
				continue // keep the slow link's runs to the two that matter
			}
			b.Run(fmt.Sprintf("%s/%d", cl.name, baud), func(b *testing.B) {
				if testing.Short() && baud < 1000000 {
					b.Skip("slow link: not in -short")
				}
				benchUpload(b, baud, cl.bufSz, cl.opts)
			})
		}
	}
}

func benchUpload(b *testing.B, baud, bufSize int, opts *smp.UploadOptions) {
	board, err := New(Config{Baud: baud, BufSize: bufSize})
	if err != nil {
		b.Fatal(err)
	}
	defer board.Close()
	p, err := OpenPTY()
	if err != nil {
		b.Skipf("no pseudo-terminals: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { board.Serve(ctx, p); close(done) }()
	defer func() { cancel(); p.Close(); <-done }()
	port, err := serial.OpenPort(p.Path(), baud)
	if err != nil {
		b.Fatal(err)
	}
	c := smp.NewClient(smp.FromStream(port), &smp.Options{Timeout: 10 * time.Second})
	defer c.Close()

	imgs := make([][]byte, b.N)
	for i := range imgs {
		imgs[i] = image256K(b, uint8(i+1))
	}
	if err := board.Program(imgs[0]); err != nil { // leave serial recovery
		b.Fatal(err)
	}
	b.SetBytes(256 << 10)
	b.ResetTimer()
	var elapsed time.Duration
	for i := range b.N {
		b.StopTimer()
		if i > 0 {
			if err := c.EraseSlot(ctx, 1); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		if opts == nil {
			err = mcumgrUpload(ctx, c, imgs[i])
		} else {
			o := *opts
			var res *smp.UploadResult
			if res, err = c.Upload(ctx, imgs[i], &o); err == nil && res.Rewinds != 0 {
				b.Logf("%d rewinds", res.Rewinds)
			}
		}
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
	}
	rate := float64(b.N) * (256 << 10) / elapsed.Seconds()
	b.ReportMetric(rate/1024, "KiB/s")
	b.ReportMetric(100*rate/linkCeiling(baud), "%ceiling")
}

// mcumgrPacket is the packet size of the upstream mcumgr client's upload
// requests over serial, as its session log shows (74-byte bodies).
const mcumgrPacket = 82

// mcumgrUpload uploads img as the upstream mcumgr client does: each request
// carries "image", "off" ("len" too on the first) and as much "data" as fits
// an 82-byte packet, and is sent once the answer to the one before arrived.
func mcumgrUpload(ctx context.Context, c *smp.Client, img []byte) error {
	type req struct {
		Image int    `cbor:"image"`
		Off   int    `cbor:"off"`
		Len   int    `cbor:"len,omitempty"`
		Data  []byte `cbor:"data"`
	}
	for off := 0; off < len(img); {
		r := req{Off: off}
		if off == 0 {
			r.Len = len(img)
		}
		empty, err := cbor.Marshal(r)
		if err != nil {
			return err
		}
		room := mcumgrPacket - smp.HeaderLen - (len(empty) - 1)
		n := room - 2 // a byte string head of 2 bytes: n < 256
		r.Data = img[off:min(off+n, len(img))]
		var ans struct {
			Off int `cbor:"off"`
		}
		err = c.Do(ctx, smp.Request{Name: "image upload", Op: smp.OpWrite, Group: smp.GroupImage, ID: smp.CmdImageUpload, Body: r, Idempotent: true}, &ans)
		if err != nil {
			return err
		}
		off = ans.Off
	}
	return nil
}
