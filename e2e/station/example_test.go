package station_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"trustforge/devices/sim"
	"trustforge/e2e/driver"
	"trustforge/e2e/station"
)

// Example is a production line's rig: a headless Chromium, the console's
// station mode on the line's server, and the boards on the fixture's
// USB serial ports. Here a simulated board stands behind the Web Serial
// shim; on a real line the browser's SerialAllowUsbDevicesForUrls policy
// grants the fixture's ports instead, and no shim is installed.
func Example() {
	ctx := context.Background()
	b, err := driver.StartBrowser(ctx, driver.BrowserOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	tab, closeTab, err := b.NewTab()
	if err != nil {
		log.Fatal(err)
	}
	defer closeTab()

	board, err := sim.New(sim.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer board.Close()
	if _, err := driver.InstallSerialShim(tab, driver.ChooseCancel,
		driver.ShimPort{ID: "fixture-1", VendorID: 0x2fe3, ProductID: 0x0100, Granted: true, Device: board}); err != nil {
		log.Fatal(err)
	}

	s := station.New(tab, os.Getenv("TRUSTFORGE_SERVER"))
	if err := s.SignIn("line2", os.Getenv("STATION_PASSWORD")); err != nil {
		log.Fatal(err)
	}
	if err := s.Unlock(os.Getenv("STATION_VAULT_PASSPHRASE")); err != nil {
		log.Fatal(err)
	}
	if err := s.Open(""); err != nil { // the first open order addressed to this station
		log.Fatal(err)
	}
	run, err := s.Program()
	if err != nil {
		log.Fatal(err)
	}
	for _, bd := range run.Boards {
		fmt.Println(bd.Port, bd.Device, bd.State, bd.Detail)
	}
	fmt.Printf("done %d, failed %d, refused %d, %d left in the order\n",
		run.Counts.Done, run.Counts.Failed, run.Counts.Refused, run.Counts.Remaining)
}
