package identity

import (
	"fmt"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/client"
	"trustforge/wasm/ui/board"
)

// renderEFuses shows an ESP32 board's recorded eFuse security state: a
// line of what is on, and the key blocks.
func renderEFuses(d client.Device) app.UI {
	s := d.EFuses
	fe := board.OnOffText(s.FlashEncryption)
	if s.FlashKeySource != "" {
		fe += ", key " + map[string]string{"device": "generated on the device", "uploaded": "uploaded"}[s.FlashKeySource]
	}
	var prot []string
	for _, x := range []struct {
		on   bool
		name string
	}{{s.JTAGDisabled, "JTAG off"}, {s.ManualEncryptDisabled, "no manual encryption in download mode"},
		{s.DownloadICacheOff, "no download cache"}, {s.DirectBootDisabled, "no direct boot"},
		{s.ReadProtectionLocked, "read protections locked"}, {s.SecureDownload, "Secure Download Mode"},
		{s.DownloadModeDisabled, "download mode off"}} {
		if x.on {
			prot = append(prot, x.name)
		}
	}
	if len(prot) == 0 {
		prot = []string{"none"}
	}
	var blocks []app.UI
	for _, k := range s.KeyBlocks {
		if k.Purpose == "USER" && !k.ReadProtected && !k.WriteProtected {
			continue
		}
		text := fmt.Sprintf("BLOCK_KEY%d %s", k.Block, k.Purpose)
		switch {
		case k.Digest != "":
			text += " " + k.Digest[:16] + "…"
		case k.ReadProtected:
			text += " (read-protected)"
		}
		blocks = append(blocks, app.Li().Text(text))
	}
	updated := ""
	if d.EFusesUpdated != nil {
		updated = " · read " + d.EFusesUpdated.Format("2006-01-02 15:04")
	}
	return app.Div().Class("efuses").DataSet("testid", "device-efuses").
		DataSet("secure-boot", board.OnOffText(s.SecureBoot)).DataSet("flash-encryption", board.OnOffText(s.FlashEncryption)).Body(
		app.Span().Text(fmt.Sprintf("%s eFuses: Secure Boot %s · flash encryption %s (SPI_BOOT_CRYPT_CNT %03b)",
			s.Chip, board.OnOffText(s.SecureBoot), fe, s.FlashCryptCnt)),
		app.Br(),
		app.Span().Class("muted").Text("protections: "+strings.Join(prot, ", ")+updated),
		app.If(len(blocks) > 0, func() app.UI { return app.Ul().Class("key-blocks").Body(blocks...) }),
	)
}
