package sim

import (
	"context"
	"crypto"
	"crypto/rand"
	"net"
	"testing"

	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
	"trustforge/devices/smp"
)

// espLink is a client's side of a simulated cable: a pipe whose modem lines
// reach the board.
type espLink struct {
	smp.Transport
	b    *ESPBoard
	conn net.Conn
}

func (l *espLink) SetLines(_ context.Context, dtr, rts bool) error {
	l.b.SetLines(dtr, rts)
	return nil
}
func (l *espLink) SetBaud(context.Context, int) error { return nil }

// espConnect plugs a client into b through a pipe.
func espConnect(t testing.TB, b *ESPBoard) (*esprom.Client, *espLink) {
	t.Helper()
	host, dev := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Serve(ctx, dev); close(done) }()
	l := &espLink{Transport: smp.FromStream(host), b: b, conn: host}
	c := esprom.New(l, esprom.Options{})
	t.Cleanup(func() {
		c.Close()
		cancel()
		host.Close()
		dev.Close()
		<-done
	})
	return c, l
}

// espFlashSet makes a bootloader, a partition table with a factory app at
// 0x10000 and an app; signers sign the bootloader and the app.
func espFlashSet(t testing.TB, chip espimg.Chip, appSize int, version string, signers ...crypto.Signer) []esprom.Part {
	t.Helper()
	bl, err := espimg.Build(espimg.BuildOptions{Chip: chip, MinRev: 3, Entry: 0x403C0000, SPIMode: espimg.ModeDIO},
		espimg.Segment{Addr: 0x403C0000, Data: make([]byte, 3000)})
	if err != nil {
		t.Fatal(err)
	}
	pt, err := espimg.BuildPartitionTable([]espimg.Partition{
		{Type: espimg.PartTypeData, SubType: 2, Offset: 0x9000, Size: 0x6000, Label: "nvs"},
		{Type: espimg.PartTypeApp, SubType: espimg.PartSubFactory, Offset: 0x10000, Size: 0x180000, Label: "factory"},
	})
	if err != nil {
		t.Fatal(err)
	}
	app := espApp(t, chip, appSize, version)
	if len(signers) > 0 {
		if bl, err = espimg.Sign(rand.Reader, bl, signers...); err != nil {
			t.Fatal(err)
		}
		if app, err = espimg.Sign(rand.Reader, app, signers...); err != nil {
			t.Fatal(err)
		}
	}
	return []esprom.Part{{Name: "bootloader", Offset: 0, Data: bl}, {Name: "partition-table", Offset: 0x8000, Data: pt},
		{Name: "app", Offset: 0x10000, Data: app}}
}

// espApp builds an app of about size bytes whose contents compress about
// as well as firmware does (half its bytes random).
func espApp(t testing.TB, chip espimg.Chip, size int, version string) []byte {
	t.Helper()
	desc := espimg.MarshalAppDesc(espimg.AppDesc{Version: version, ProjectName: "blink", IDFVersion: "v5.3"})
	code := make([]byte, size)
	rand.Read(code)
	for i := 0; i < len(code); i += 64 { // repetitive half: instruction patterns, tables
		for j := i + 32; j < min(i+64, len(code)); j++ {
			code[j] = byte(j % 7)
		}
	}
	app, err := espimg.Build(espimg.BuildOptions{Chip: chip, MinRev: 3, Entry: 0x42000020, SPIMode: espimg.ModeDIO, FlashSize: 2},
		espimg.Segment{Addr: 0x3C000020, Data: desc}, espimg.Segment{Addr: 0x42000020, Data: code})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func espKey(t testing.TB, name string) crypto.Signer {
	t.Helper()
	k, err := espimg.ParsePrivateKey(readKey(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
