package identity

import (
	"context"
	"encoding/hex"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/espimg"
	"trustforge/crypto/pki"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
)

// pickESPKey reads a Secure Boot v2 key (espsecure's PEM, public or
// signing) and puts its digest into the ESP32 profile.
func (p *profilePanel) pickESPKey(ctx app.Context, e app.Event) {
	ctx = p.ui
	files, err := kit.InputFiles("profile-esp-sb-key")
	if err != nil || len(files) == 0 {
		return
	}
	f := files[0]
	p.msg, p.err = "", ""
	ctx.Async(func() {
		var digest [32]byte
		b, err := f.Read(context.Background(), 64<<10, nil)
		if err == nil {
			var pub any
			if pub, err = espimg.ParsePublicKey(b); err == nil {
				digest, err = espimg.KeyDigest(pub)
			}
		}
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				p.err = "That is not a Secure Boot v2 key (" + f.Name + "): " + board.DescribeESP(err)
				return
			}
			p.form.ESP32.SecureBootDigest, p.form.ESP32.SecureBootKeyName = hex.EncodeToString(digest[:]), f.Name
		})
	})
}

// renderESP32 renders the ESP32 variant's fields: which key the boards'
// Secure Boot trusts, flash encryption and its key's source, and the
// protections, all eFuses the ESP32 panel burns with this profile.
func (p *profilePanel) renderESP32() app.UI {
	e := &p.form.ESP32
	slots := []string{"0", "1", "2"}
	sources := []struct{ value, text string }{
		{"", "off"},
		{pki.ESP32KeyOnDevice, "on, key generated on the device (its bootloader draws and burns it at first boot)"},
		{pki.ESP32KeyUploaded, "on, key uploaded from this browser (drawn here, burned read-protected, kept nowhere)"},
	}
	digest := "none: Secure Boot stays off"
	if e.SecureBootDigest != "" {
		digest = e.SecureBootDigest
		if e.SecureBootKeyName != "" {
			digest += " (" + e.SecureBootKeyName + ")"
		}
	}
	return app.FieldSet().ID("profile-esp32").DataSet("testid", "profile-esp32").Body(
		app.Legend().Text("ESP32 eFuses"),
		app.P().ID("profile-esp-warning").Class("banner banner-warn").
			Text("Provisioning burns these eFuses into each board, one confirmed step at a time (Devices page, ESP32 boards). "+board.Irreversible),
		app.Div().Class("field").Body(
			app.Label().For("profile-esp-sb-key").Text("Secure Boot v2 key (espsecure PEM, public or signing)"),
			app.Input().ID("profile-esp-sb-key").DataSet("testid", "profile-esp-sb-key").Type("file").Accept(".pem").OnChange(p.pickESPKey),
			app.P().Class("muted").Body(app.Text("Key digest: "), app.Code().ID("profile-esp-digest").Class("fingerprint").Text(digest)),
		),
		app.Div().Class("field").Body(
			app.Label().For("profile-esp-slot").Text("Key block purpose"),
			app.Select().ID("profile-esp-slot").DataSet("testid", "profile-esp-slot").
				OnChange(func(ctx app.Context, ev app.Event) {
					n, _ := strconv.Atoi(ctx.JSSrc().Get("value").String())
					p.form.ESP32.SecureBootSlot = n
				}, app.EventScope("profile-esp-slot")).
				Body(app.Range(slots).Slice(func(i int) app.UI {
					return app.Option().Value(slots[i]).Selected(i == e.SecureBootSlot).Text("SECURE_BOOT_DIGEST" + slots[i])
				})),
		),
		p.check("profile-esp-secure-boot", "Enable Secure Boot once the digest is burned (SECURE_BOOT_EN)", &e.EnableSecureBoot),
		app.Div().Class("field").Body(
			app.Label().For("profile-esp-fe").Text("Flash encryption"),
			app.Select().ID("profile-esp-fe").DataSet("testid", "profile-esp-fe").
				OnChange(func(ctx app.Context, ev app.Event) { p.form.ESP32.FlashKeySource = ctx.JSSrc().Get("value").String() },
					app.EventScope("profile-esp-fe")).
				Body(app.Range(sources).Slice(func(i int) app.UI {
					return app.Option().Value(sources[i].value).Selected(sources[i].value == e.FlashKeySource).Text(sources[i].text)
				})),
		),
		p.check("profile-esp-jtag", "Disable JTAG for good (DIS_PAD_JTAG, DIS_USB_JTAG)", &e.DisableJTAG),
		p.check("profile-esp-download", "Download mode cannot write or read encrypted flash (DIS_DOWNLOAD_MANUAL_ENCRYPT, DIS_DOWNLOAD_ICACHE)", &e.LockDownloadEncryption),
		p.check("profile-esp-direct-boot", "Disable direct boot (DIS_LEGACY_SPI_BOOT)", &e.DisableDirectBoot),
		p.check("profile-esp-rd-lock", "Write-protect the read protections (WR_DIS of RD_DIS)", &e.LockReadProtection),
		p.check("profile-esp-sdm", "Secure Download Mode, last (ENABLE_SECURITY_DOWNLOAD: the ROM loader then only writes flash)", &e.SecureDownload),
	)
}
