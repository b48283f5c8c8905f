package releases

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/crypto/vault"
	"trustforge/internal/apiwire"
	"trustforge/wasm/client"
	"trustforge/wasm/mastering"
	"trustforge/wasm/release"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// productionPanel builds production packages on the Releases page: an
// engineer picks a verified release, the order (batch, authorised count,
// expiry), how the image is programmed, the station that will open the
// package and the key that signs it; the console opens the release, makes
// a batch CA with the device CA, seals image and batch CA key to the
// station, signs and uploads the package. It lists the product's packages
// with their tickets issued.
type productionPanel struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App

	products []client.Product
	loaded   bool // the products were listed
	stations []client.Recipient
	signers  []vault.Info
	releases []release.Checked
	packages []client.Package
	profile  *pki.Profile

	product, releaseID, batch, count, days, mode, keyID, notes string
	chosen                                                     map[string]bool // station recipients

	// The form's USB DFU part (productiondfu.go): the STM32 address as
	// typed, the request for read-out protection and its confirmation.
	dfuAddress           string
	dfuRDP, dfuConfirmed bool

	running bool
	cancel  context.CancelFunc
	result  *client.Package
	msg     string
	err     string
	unsub   func()

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (f *productionPanel) OnMount(ctx app.Context) {
	f.ui = ctx
	f.count, f.days = "100", "14"
	f.batch = "batch-" + time.Now().UTC().Format("20060102")
	if f.chosen == nil {
		f.chosen = map[string]bool{}
	}
	if !app.IsClient {
		return
	}
	f.unsub = kit.Follow(ctx, f.App, f.loadSigners)
	f.loadSigners(ctx)
	ctx.Async(func() {
		ps, err := f.App.API.Products(ctx)
		rs, rerr := f.App.API.Recipients(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			if err = errors.Join(err, rerr); err != nil {
				f.err = kit.Describe(err)
			}
			f.products, f.loaded = ps, err == nil
			f.stations = nil
			for _, r := range rs {
				if r.Has(apiwire.RoleStation) {
					f.stations = append(f.stations, r)
				}
			}
			if f.product == "" && len(ps) > 0 {
				f.product = ps[0].Name
			}
			f.loadProduct(ctx)
		})
	})
}

func (f *productionPanel) OnDismount() {
	if f.unsub != nil {
		f.unsub()
	}
	if f.cancel != nil {
		f.cancel()
	}
}

func (f *productionPanel) loadSigners(ctx app.Context) {
	ctx = f.ui
	ctx.Async(func() {
		v, err := f.App.Vault()
		if err != nil {
			return
		}
		infos, err := v.List(ctx)
		if err != nil {
			return
		}
		var signers []vault.Info
		for _, i := range infos {
			if i.Algorithm.CanSign() {
				signers = append(signers, i)
			}
		}
		ctx.Dispatch(func(app.Context) {
			f.signers = signers
			if f.keyID == "" && len(signers) > 0 {
				f.keyID = signers[0].ID
			}
		})
	})
}

// loadProduct lists and verifies the product's releases, reads its
// profile from this browser's device CA, and lists its packages.
func (f *productionPanel) loadProduct(ctx app.Context) {
	ctx = f.ui
	product := f.product
	if product == "" {
		return
	}
	ctx.Async(func() {
		var checked []release.Checked
		ks, err := f.App.API.Keys(ctx, product)
		rels, rerr := f.App.API.Releases(ctx, client.Filter{Product: product})
		err = errors.Join(err, rerr)
		if err == nil {
			trusted := release.TrustedKeys(ks)
			for _, r := range rels {
				if r.Yanked != nil {
					continue
				}
				signed, err := f.App.API.Manifest(ctx, r.ID)
				if err != nil {
					continue
				}
				if c := release.Verify(r, signed, trusted); c.Verified() {
					checked = append(checked, c)
				}
			}
		}
		var profile *pki.Profile
		if a, aerr := f.App.Authority(ctx); aerr == nil {
			if p, perr := a.Profile(ctx, product); perr == nil {
				profile = &p
			}
		}
		pkgs, perr := f.App.API.Packages(ctx, product)
		ctx.Dispatch(func(app.Context) {
			if product != f.product {
				return
			}
			f.releases, f.profile, f.packages = checked, profile, pkgs
			if err = errors.Join(err, perr); err != nil {
				f.err = kit.Describe(err)
			}
			f.releaseID = ""
			if len(checked) > 0 {
				f.releaseID = checked[0].Release.ID
			}
			if f.mode == "" && profile != nil {
				f.mode = string(production.ImageClear)
				if profile.EncryptImages {
					f.mode = string(production.ImageDevice)
				}
			}
		})
	})
}

func (f *productionPanel) chosenRelease() (release.Checked, bool) {
	for _, c := range f.releases {
		if c.Release.ID == f.releaseID {
			return c, true
		}
	}
	return release.Checked{}, false
}

func (f *productionPanel) build(ctx app.Context, e app.Event) {
	ctx = f.ui
	e.PreventDefault()
	if f.running {
		return
	}
	f.err, f.msg, f.result = "", "", nil
	c, ok := f.chosenRelease()
	count, cerr := strconv.Atoi(strings.TrimSpace(f.count))
	days, derr := strconv.Atoi(strings.TrimSpace(f.days))
	var stations []string
	for _, s := range f.stations {
		if f.chosen[s.Recipient] {
			stations = append(stations, s.Recipient)
		}
	}
	switch {
	case f.profile == nil:
		f.err = "This browser's device CA has no provisioning profile for " + f.product + ": make one on the Identity page first."
	case !ok:
		f.err = "Choose a release verified in this browser."
	case cerr != nil || count < 1:
		f.err = "The authorised count must be a whole number of devices, at least 1."
	case derr != nil || days < 1 || days > 366:
		f.err = "The order must last 1 to 366 days."
	case len(stations) == 0:
		f.err = "Choose the station that will program the boards: only it can open the package."
	case f.keyID == "":
		f.err = "Choose the signing key (a key registered with the product)."
	}
	dfuSettings, dfuErr := f.dfuSettings()
	if f.err == "" && dfuErr != nil {
		f.err = kit.Describe(dfuErr)
	}
	if f.err != "" {
		return
	}
	jctx, cancel := context.WithCancel(context.Background())
	f.running, f.cancel = true, cancel
	in := mastering.Input{Release: c, Profile: *f.profile, Batch: strings.TrimSpace(f.batch), Count: count,
		Expires: time.Now().Add(time.Duration(days) * 24 * time.Hour), Mode: production.ImageMode(f.mode),
		Stations: stations, Notes: f.notes, DFU: dfuSettings, Yield: kit.YieldToBrowser}
	keyID := f.keyID
	ctx.Async(func() {
		pkg, err := f.run(jctx, in, keyID)
		ctx.Dispatch(func(ctx app.Context) {
			f.running, f.cancel = false, nil
			cancel()
			if err != nil {
				f.err = kit.Describe(err)
				return
			}
			f.result = &pkg
			f.msg = "Uploaded the production package of " + pkg.Batch + ": " + strconv.Itoa(pkg.Count) +
				" devices of " + pkg.Product + " " + pkg.Version + " until " + pkg.Expires.Local().Format("2006-01-02 15:04") + "."
			if d := in.DFU; d != (production.DFU{}) {
				f.msg += " STM32 boards over USB DFU: " + dfuSummary(d) + "."
			}
			f.loadProduct(ctx)
		})
	})
}

// run opens the release with the vault, builds the package and uploads it.
func (f *productionPanel) run(ctx context.Context, in mastering.Input, keyID string) (client.Package, error) {
	v, err := f.App.UnlockedVault()
	if err != nil {
		return client.Package{}, err
	}
	if in.Identities, err = v.Identities(ctx); err != nil {
		return client.Package{}, err
	}
	k, err := v.Key(ctx, keyID)
	if err != nil {
		return client.Package{}, err
	}
	if in.Key, err = k.Private(); err != nil {
		return client.Package{}, err
	}
	infos, err := v.List(ctx)
	if err != nil {
		return client.Package{}, err
	}
	for _, i := range infos {
		if i.Algorithm == vault.X25519 || i.Algorithm == vault.ECDSAP256 {
			if k, err := v.Key(ctx, i.ID); err == nil {
				if priv, err := k.Private(); err == nil {
					in.DecryptionKeys = append(in.DecryptionKeys, priv)
				}
			}
		}
	}
	if in.CA, err = f.App.Authority(ctx); err != nil {
		return client.Package{}, err
	}
	if in.Payload, err = f.App.API.Payload(ctx, in.Release.Release.ID, maxDownload, nil); err != nil {
		return client.Package{}, err
	}
	built, err := mastering.Build(ctx, in)
	if err != nil {
		return client.Package{}, err
	}
	if err := f.ensureRoot(ctx, in.CA, in.Profile.Product); err != nil {
		return client.Package{}, err
	}
	return f.App.API.PublishPackage(ctx, built.TFP, nil)
}

// ensureRoot makes the device CA's root a trust anchor of product on the
// server unless it is one: the engineer building the order decides it
// (audited there), and the server accepts the package and its boards only
// under a registered root.
func (f *productionPanel) ensureRoot(ctx context.Context, a *pki.Authority, product string) error {
	info, err := a.Root(ctx)
	if err != nil {
		return err
	}
	root, err := info.Certificate()
	if err != nil {
		return err
	}
	_, err = f.App.API.EnsureDeviceRoot(ctx, product, root, "registered from the Releases page with a production order")
	return err
}
