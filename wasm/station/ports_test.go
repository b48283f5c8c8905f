package station

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"

	"trustforge/crypto/production"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
)

// simPort is a port with a simulated board behind it.
type simPort struct {
	b   *sim.Board
	usb bool
	wg  sync.WaitGroup
}

func (p *simPort) Label() string { return "sim" }

func (p *simPort) USB() (bool, uint16, uint16) { return p.usb, 0x2fe3, 0x0100 }

func (p *simPort) Open(ctx context.Context, baud int) (smp.Transport, error) {
	host, dev := net.Pipe()
	sctx, cancel := context.WithCancel(context.Background())
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.b.Serve(sctx, dev)
		dev.Close()
	}()
	return &closing{Transport: smp.FromStream(host), cancel: cancel}, nil
}

type closing struct {
	smp.Transport
	cancel context.CancelFunc
}

func (c *closing) Close() error { c.cancel(); return c.Transport.Close() }

func TestProgramPorts(t *testing.T) {
	l := newLine(t, 3, production.ImageDevice)
	s := l.station()
	var ports []Port
	var boards []*sim.Board
	for i := range 5 {
		b, err := sim.New(sim.Config{SlotSize: 128 << 10})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		boards = append(boards, b)
		// Port 2 is the machine's own UART: never touched.
		ports = append(ports, &simPort{b: b, usb: i != 2})
	}
	var seen []string
	res := s.ProgramPorts(context.Background(), ports, RunOptions{OnResult: func(i int, r *Result) {
		seen = append(seen, fmt.Sprintf("%d:%s", i, r.State))
	}})
	if got := fmt.Sprint(seen); got != "[0:done 1:done 2:done 3:refused]" {
		t.Errorf("results %s", got)
	}
	if len(res) != 4 || res[3].Port != "port 4 (sim)" {
		t.Errorf("%d results, last on %q", len(res), res[len(res)-1].Port)
	}
	if p := boards[2].Provisioning(); p.IDKey != nil {
		t.Error("the non-USB port's board was written to")
	}
	for _, p := range ports {
		p.(*simPort).wg.Wait()
	}
	if (PortFilter{VendorID: 0x1234}).Takes(ports[0]) || !(PortFilter{AnyPort: true}).Takes(ports[2]) {
		t.Error("filters")
	}
}
