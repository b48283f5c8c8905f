package board

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/pki"
	"trustforge/devices/esprom"
	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
	"trustforge/wasm/client"
	"trustforge/wasm/ui/kit"
)

// This file is the ESP32 panel's use of the Identity page's ESP32
// profiles: the next eFuse step a profile asks of the detected board, and
// the board's record in the device registry (its MAC and eFuse state)
// after each step.

// espProvisioning turns an ESP32 profile into the eFuse state it asks for.
func espProvisioning(pr pki.Profile) (esprom.Provisioning, error) {
	e := pr.ESP32
	p := esprom.Provisioning{SecureBootSlot: e.SecureBootSlot, SecureBoot: e.EnableSecureBoot, FlashKeySource: e.FlashKeySource,
		Protections: esprom.Protections{JTAG: e.DisableJTAG, DownloadEncryption: e.LockDownloadEncryption,
			DirectBoot: e.DisableDirectBoot, ReadProtection: e.LockReadProtection, SecureDownload: e.SecureDownload}}
	if e.SecureBootDigest != "" {
		d, err := hex.DecodeString(e.SecureBootDigest)
		if err != nil || len(d) != 32 {
			return p, usererr.Errorf("", "the profile of %s holds a malformed Secure Boot digest", pr.Product)
		}
		p.SecureBootDigest = d
	}
	return p, nil
}

// espProfileSummary says in one line what a profile burns.
func espProfileSummary(pr pki.Profile) string {
	e := pr.ESP32
	var parts []string
	if e.SecureBootDigest != "" {
		s := fmt.Sprintf("Secure Boot digest %s… in SECURE_BOOT_DIGEST%d", e.SecureBootDigest[:16], e.SecureBootSlot)
		if e.SecureBootKeyName != "" {
			s += " (" + e.SecureBootKeyName + ")"
		}
		parts = append(parts, s)
	}
	if e.EnableSecureBoot {
		parts = append(parts, "Secure Boot on")
	}
	switch e.FlashKeySource {
	case pki.ESP32KeyUploaded:
		parts = append(parts, "flash encryption on, key uploaded from this browser")
	case pki.ESP32KeyOnDevice:
		parts = append(parts, "flash encryption on, key generated on the device")
	}
	var prot []string
	for _, x := range []struct {
		on   bool
		name string
	}{{e.DisableJTAG, "JTAG off"}, {e.LockDownloadEncryption, "download mode kept from encrypted flash"},
		{e.DisableDirectBoot, "no direct boot"}, {e.LockReadProtection, "read protections locked"}, {e.SecureDownload, "Secure Download Mode"}} {
		if x.on {
			prot = append(prot, x.name)
		}
	}
	if len(prot) > 0 {
		parts = append(parts, "protections: "+strings.Join(prot, ", "))
	}
	if len(parts) == 0 {
		return "burns nothing; records the board"
	}
	return strings.Join(parts, "; ")
}

// loadProfiles reads the ESP32 profiles this browser's CA holds.
func (p *ESPPanel) loadProfiles() {
	ctx := p.ui
	if p.App == nil {
		return
	}
	ctx.Async(func() {
		var out []pki.Profile
		a, err := p.App.Authority(ctx)
		if err == nil {
			var ps []pki.Profile
			if ps, err = a.Profiles(ctx); err == nil {
				for _, pr := range ps {
					if pr.Board == pki.BoardESP32 {
						out = append(out, pr)
					}
				}
			}
		}
		ctx.Dispatch(func(app.Context) {
			p.profiles = out
			if _, ok := p.profile(); !ok {
				p.product = ""
			}
		})
	})
}

// profile returns the chosen ESP32 profile.
func (p *ESPPanel) profile() (pki.Profile, bool) {
	for _, pr := range p.profiles {
		if pr.Product == p.product && p.product != "" {
			return pr, true
		}
	}
	return pki.Profile{}, false
}

// nextStep plans the next eFuse step the chosen profile asks of the
// board; when there is none, it records the board as it is.
func (p *ESPPanel) nextStep(ctx app.Context, e app.Event) {
	ctx = p.ui
	pr, ok := p.profile()
	if !ok || p.ef == nil || p.busy {
		return
	}
	p.plan, p.confirmed, p.err, p.msg = nil, false, "", ""
	prov, err := espProvisioning(pr)
	var plan *esprom.Burn
	if err == nil {
		plan, err = esprom.NextBurn(p.ef, prov, rand.Reader)
	}
	if err != nil {
		p.err = DescribeESP(err)
		return
	}
	if plan != nil {
		p.plan = plan
		return
	}
	ci, ef := p.chip, p.ef
	p.busy = true
	ctx.Async(func() {
		rec, err := p.record(ctx, pr, ci, ef)
		ctx.Dispatch(func(app.Context) {
			p.busy = false
			p.msg = "This board matches the profile of " + pr.Product + "."
			if rec != "" {
				p.msg += " " + rec
			}
			if err != nil {
				p.err = "The device registry did not record the board: " + kit.DescribeIdentity(err)
			}
		})
	})
}

// record creates or updates the board's registry entry under the
// profile's product: its MAC and the eFuse state just read. It says what
// it did, or nothing when the account may not register boards.
func (p *ESPPanel) record(ctx context.Context, pr pki.Profile, ci *esprom.ChipInfo, ef *esprom.Efuses) (string, error) {
	if p.App == nil || !kit.CanRegistry(p.App, apiwire.PermProvision) {
		return "", nil
	}
	st := ef.State(ci.Chip.String())
	switch src := pr.ESP32.FlashKeySource; {
	case src == pki.ESP32KeyOnDevice:
		st.FlashKeySource = esprom.KeySourceDevice
	case src == pki.ESP32KeyUploaded && hasPurpose(st, esprom.PurposeXTSAES128):
		st.FlashKeySource = esprom.KeySourceUploaded
	}
	d, err := p.App.API.RecordEFuses(ctx, client.EFusesReport{Product: pr.Product, Model: ci.Chip.String(),
		Rev: ci.Revision.String(), MAC: ci.MAC.String(), EFuses: st})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Recorded in the device registry as %s (%s, MAC %s).", d.ID, d.Product, d.MAC), nil
}

func hasPurpose(s esprom.SecurityState, p esprom.KeyPurpose) bool {
	for _, k := range s.KeyBlocks {
		if k.Purpose == p.String() {
			return true
		}
	}
	return false
}

// renderProfile offers the Identity page's ESP32 profiles and the next
// step of the chosen one.
func (p *ESPPanel) renderProfile() app.UI {
	if len(p.profiles) == 0 {
		return app.P().ID("esp-no-profile").Class("muted").Body(
			app.Text("To provision boards from a profile and record them in the device registry, define an ESP32 profile on the "),
			app.A().Href("/identity").Text("Identity page"),
			app.Text("."),
		)
	}
	pr, chosen := p.profile()
	return app.Div().ID("esp-provision").Body(
		app.Div().Class("form-inline").Body(
			kit.Pair(app.Label().For("esp-profile").Text("Provisioning profile"),
				app.Select().ID("esp-profile").DataSet("testid", "esp-profile").Disabled(p.busy).
					OnChange(func(ctx app.Context, e app.Event) {
						p.product, p.plan, p.confirmed = ctx.JSSrc().Get("value").String(), nil, false
					}).
					Body(
						app.Option().Value("").Selected(!chosen).Text("none: burn steps by hand, record nothing"),
						app.Range(p.profiles).Slice(func(i int) app.UI {
							name := p.profiles[i].Product
							return app.Option().Value(name).Selected(name == p.product).Text(name)
						}),
					)),
			app.Button().ID("esp-next-step").DataSet("testid", "esp-next-step").Class("btn-primary").Disabled(p.busy || !chosen).
				Text("Next step of the profile…").OnClick(p.nextStep),
		),
		app.If(chosen, func() app.UI {
			return app.P().ID("esp-profile-summary").Class("muted").Text("The profile of " + pr.Product + ": " + espProfileSummary(pr) +
				". After each step the board is recorded in the device registry with its MAC and eFuse state.")
		}),
	)
}
