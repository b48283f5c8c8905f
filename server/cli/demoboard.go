package cli

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"

	"trustforge/crypto/mcuimg"
	"trustforge/devices/sim"
)

// demoBoardFile is the simulated board's flash, under the data directory,
// so what a newcomer flashed survives a server restart.
const demoBoardFile = "demo-board.flash"

// demoBoardBaud paces the simulated board's UART as a fast USB serial
// adapter would.
const demoBoardBaud = 1_000_000

// openDemoBoard powers on the simulated board that `serve --demo-board`
// offers at /demo-board/. A board with an empty flash is given a small,
// unsigned factory image (version 0.1.0), as boards leave the factory with
// one, so its slots have something to show.
// demoBoardProvisioningFile keeps the demo board's provisioning storage
// in the data directory.
const demoBoardProvisioningFile = "demo-board-provisioning.json"

func openDemoBoard(dataDir string, log io.Writer) (*sim.Board, http.Handler, error) {
	b, err := sim.New(sim.Config{
		FlashFile: filepath.Join(dataDir, demoBoardFile),
		Baud:      demoBoardBaud,
		Name:      "trustforge-demo",
		// Its identity, certificates and lock survive restarts too.
		Provisioning: sim.ProvisionConfig{File: filepath.Join(dataDir, demoBoardProvisioningFile)},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("demo board: %w", err)
	}
	if b.Running().Recovery {
		img, err := factoryImage()
		if err == nil {
			err = b.Program(img)
		}
		if err != nil {
			b.Close()
			return nil, nil, fmt.Errorf("demo board: factory image: %w", err)
		}
		fmt.Fprintf(log, "trustforge: the simulated board got its factory image (version 0.1.0)\n")
	}
	return b, sim.NewHandler(b), nil
}

// factoryImage is an unsigned MCUboot image of a few KiB: the simulated
// board boots any image with a valid hash until a boot key is provisioned.
func factoryImage() ([]byte, error) {
	payload := make([]byte, 8<<10)
	copy(payload, "trustforge demo board factory application\n")
	for i := 64; i < len(payload); i++ {
		payload[i] = byte(i * 31)
	}
	return mcuimg.Sign(payload, &mcuimg.SignOptions{
		Version:    mcuimg.Version{Minor: 1},
		HeaderSize: 0x200,
		PadHeader:  true,
	})
}
