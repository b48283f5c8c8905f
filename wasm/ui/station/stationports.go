package station

import (
	"context"

	"trustforge/devices/smp"
	"trustforge/devices/webserial"
	"trustforge/wasm/station"
	"trustforge/wasm/ui/board"
)

// serialPort is a Web Serial port as station mode programs it.
type serialPort struct{ p *webserial.Port }

func (s serialPort) Label() string { return s.p.Info().String() }

func (s serialPort) USB() (bool, uint16, uint16) {
	i := s.p.Info()
	return i.USB, i.VendorID, i.ProductID
}

func (s serialPort) Open(ctx context.Context, baud int) (smp.Transport, error) {
	if err := s.p.Open(ctx, webserial.Options{BaudRate: baud}); err != nil {
		return nil, err
	}
	// With DTR/RTS, which reset an ESP32 into its ROM loader.
	return board.NewESPPort(s.p), nil
}

// grantedPorts lists the serial ports the browser grants the console
// without a chooser: those an enterprise policy allows, on a production
// line.
func grantedPorts(ctx context.Context) ([]station.Port, error) {
	ps, err := webserial.Ports.Granted(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]station.Port, 0, len(ps))
	for _, p := range ps {
		out = append(out, serialPort{p})
	}
	return out, nil
}
