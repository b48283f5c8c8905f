package releases

import (
	"encoding/json"
	"fmt"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/production"
	"trustforge/internal/usererr"
	"trustforge/wasm/client"
	"trustforge/wasm/mastering"
)

// This file is the production form's USB DFU part: where an STM32's DfuSe
// bootloader gets the image and whether the station sets read-out
// protection (RDP level 1) after programming, an irreversible step the
// engineer confirms here and the station's operator again on the line.

// rdpWarning says what RDP level 1 does, as the station and the Devices
// page say it.
const rdpWarning = "RDP level 1 stops the flash being read through the bootloader or a debugger. " +
	"It cannot be undone without erasing the whole flash."

// dfuFlashSet reports whether the chosen release is an ESP32 flash set,
// which is never programmed over USB DFU.
func (f *productionPanel) dfuFlashSet() bool {
	c, ok := f.chosenRelease()
	return ok && c.Manifest != nil && c.Manifest.IsFlashSet()
}

// dfuSettings reads the form's USB DFU part: the settings, or the reason
// they cannot go into the package.
func (f *productionPanel) dfuSettings() (production.DFU, error) {
	addr, err := mastering.ParseDFUAddress(f.dfuAddress)
	if err != nil {
		return production.DFU{}, err
	}
	d := production.DFU{Address: addr, ReadOutProtection: f.dfuRDP}
	switch {
	case d != (production.DFU{}) && f.dfuFlashSet():
		return production.DFU{}, usererr.New("releases", "An ESP32 flash set is not programmed over USB DFU: clear the STM32 flash address and read-out protection.")
	case d.ReadOutProtection && !f.dfuConfirmed:
		return production.DFU{}, usererr.New("releases", "Confirm that read-out protection cannot be undone, or untick it.")
	}
	return d, nil
}

func (f *productionPanel) setDFURDP(ctx app.Context, e app.Event) {
	f.dfuRDP = ctx.JSSrc().Get("checked").Bool()
	if !f.dfuRDP {
		f.dfuConfirmed = false
	}
}

func (f *productionPanel) confirmDFURDP(ctx app.Context, e app.Event) {
	f.dfuConfirmed = ctx.JSSrc().Get("checked").Bool()
}

// dfuFields renders the form's optional USB DFU part.
func (f *productionPanel) dfuFields() app.UI {
	flashSet := f.dfuFlashSet()
	return app.FieldSet().ID("production-dfu").DataSet("rdp", f.dfuRDP).DataSet("confirmed", f.dfuConfirmed).Body(
		app.Legend().Text("USB DFU (STM32), optional"),
		app.P().Class("muted").Text("How the station programs STM32 boards in their DfuSe bootloader. Zephyr DFU boards always get the image in their upload slot."),
		app.If(flashSet, func() app.UI {
			return app.P().Class("banner banner-warn").ID("production-dfu-flashset").
				Text("This release is an ESP32 flash set: it is programmed through the chip's serial ROM loader, never over USB DFU. Leave these empty.")
		}),
		f.textField("production-dfu-address", "STM32 flash address (hex; empty: the start of flash, 0x08000000)", "0x08000000", &f.dfuAddress),
		app.Div().Class("field field-check").Body(
			app.Input().Type("checkbox").ID("production-dfu-rdp").DataSet("testid", "production-dfu-rdp").
				Checked(f.dfuRDP).Disabled(f.running).OnChange(f.setDFURDP),
			app.Label().For("production-dfu-rdp").Text("Set read-out protection (RDP level 1) after programming"),
		),
		app.If(f.dfuRDP, func() app.UI {
			return app.Div().ID("production-dfu-rdp-warning").Body(
				app.P().Class("banner banner-warn").Text("Every STM32 board programmed from this package gets read-out protection: "+rdpWarning+
					" The station's operator confirms it again before the first board."),
				app.Div().Class("field field-check").Body(
					app.Input().Type("checkbox").ID("production-dfu-rdp-confirm").DataSet("testid", "production-dfu-rdp-confirm").
						Checked(f.dfuConfirmed).Disabled(f.running).OnChange(f.confirmDFURDP),
					app.Label().For("production-dfu-rdp-confirm").Text("I understand this cannot be undone: ask the station to set RDP level 1 on the STM32 boards"),
				),
			)
		}),
	)
}

// packageDFU reads a listed package's USB DFU settings from its manifest
// as the server verified it; ok is false when the manifest does not read.
func packageDFU(p client.Package) (d production.DFU, ok bool) {
	var m struct {
		DFU production.DFU `json:"dfu"`
	}
	if json.Unmarshal(p.Manifest, &m) != nil {
		return production.DFU{}, false
	}
	return m.DFU, true
}

// dfuSummary says in a few words how a package programs STM32 boards.
func dfuSummary(d production.DFU) string {
	at := "start of flash"
	if d.Address != 0 {
		at = fmt.Sprintf("at 0x%08X", d.Address)
	}
	if d.ReadOutProtection {
		return at + ", then RDP level 1"
	}
	return at
}

// dfuAddressAttr is a package's STM32 address for its row's data-
// attribute: hex, or "" for the start of flash.
func dfuAddressAttr(d production.DFU) string {
	if d.Address == 0 {
		return ""
	}
	return fmt.Sprintf("0x%08x", d.Address)
}
