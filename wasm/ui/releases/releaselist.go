package releases

import (
	"context"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/internal/apiwire"
	"trustforge/wasm/client"
	"trustforge/wasm/release"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// maxDownload bounds a payload or bundle download.
const maxDownload = 2 << 30

// releaseList lists a product's releases per channel. Each signed manifest
// is downloaded and verified here against the product's registered keys,
// and the server's record is checked against it; the actions shown are
// the ones the role may take.
type releaseList struct {
	app.Compo

	// App is the tab's shared state.
	App *state.App
	// Reload changes to make the list reload (after a publish).
	Reload int
	// Show, when set with a new Reload, is the product to list: the one a
	// release was just published for.
	Show string

	products   []client.Product
	productsIn bool // the products were listed (none is then an answer)
	product    string
	channel    string // "" for every channel
	rows       []release.Checked
	loading    bool
	loads      int // numbers the loads: only the newest one's answer is shown
	lastReload int
	busy       map[string]bool
	promoteTo  map[string]string
	yankReason map[string]string
	progress   map[string][2]int64
	msg, err   string

	// ui is the component's own context, kept at mount: work started by
	// an event handler dispatches through it (see stalestate_test.go).
	ui app.Context
}

func (l *releaseList) OnMount(ctx app.Context) {
	l.ui = ctx
	l.busy, l.promoteTo, l.yankReason, l.progress = map[string]bool{}, map[string]string{}, map[string]string{}, map[string][2]int64{}
	l.lastReload = l.Reload
	if !app.IsClient {
		return
	}
	ctx.Async(func() {
		ps, err := l.App.API.Products(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				l.err = kit.Describe(err)
				return
			}
			l.products, l.productsIn = ps, true
			if l.product == "" && len(ps) > 0 {
				l.product = ps[0].Name
			}
			l.load(ctx)
		})
	})
}

func (l *releaseList) OnUpdate(ctx app.Context) {
	if l.Reload != l.lastReload {
		l.lastReload = l.Reload
		if l.Show != "" && l.Show != l.product {
			l.product, l.channel = l.Show, ""
			if !l.knows(l.Show) {
				l.refreshProducts(ctx)
			}
		}
		l.load(ctx)
	}
}

// knows reports whether the product selector lists name.
func (l *releaseList) knows(name string) bool {
	for _, p := range l.products {
		if p.Name == name {
			return true
		}
	}
	return false
}

// refreshProducts reloads the product selector's choices.
func (l *releaseList) refreshProducts(ctx app.Context) {
	ctx = l.ui
	ctx.Async(func() {
		ps, err := l.App.API.Products(ctx)
		ctx.Dispatch(func(app.Context) {
			if err == nil {
				l.products = ps
			}
		})
	})
}

// load lists and verifies the releases of the chosen product and channel.
func (l *releaseList) load(ctx app.Context) {
	ctx = l.ui
	product, channel := l.product, l.channel
	if product == "" {
		return
	}
	l.loading = true
	l.loads++
	n := l.loads
	canDownload := l.App.Can(apiwire.PermDownload)
	ctx.Async(func() {
		rows, err := l.fetch(ctx, product, channel, canDownload)
		ctx.Dispatch(func(app.Context) {
			if n != l.loads {
				return // a newer load (another product or channel) is on its way
			}
			l.loading = false
			if err != nil {
				l.err = kit.Describe(err)
				return
			}
			l.rows, l.err = rows, ""
		})
	})
}

func (l *releaseList) fetch(ctx context.Context, product, channel string, canDownload bool) ([]release.Checked, error) {
	ks, err := l.App.API.Keys(ctx, product)
	if err != nil {
		return nil, err
	}
	trusted := release.TrustedKeys(ks)
	rels, err := l.App.API.Releases(ctx, client.Filter{Product: product, Channel: channel, Yanked: true})
	if err != nil {
		return nil, err
	}
	out := make([]release.Checked, 0, len(rels))
	for _, r := range rels {
		c := release.Checked{Release: r}
		switch {
		case r.Yanked != nil:
			c.Err = kit.ErrYanked
		case !canDownload:
			c.Err = kit.ErrCannotVerify
		default:
			signed, err := l.App.API.Manifest(ctx, r.ID)
			if err != nil {
				c.Err = err
			} else {
				c = release.Verify(r, signed, trusted)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// act runs f for release id off the UI goroutine and shows its outcome;
// reload lists the releases again after a success.
func (l *releaseList) act(ctx app.Context, id string, reload bool, f func(context.Context) (string, error)) {
	ctx = l.ui
	if l.busy[id] {
		return
	}
	l.busy[id], l.msg, l.err = true, "", ""
	l.App.Touch()
	ctx.Async(func() {
		msg, err := f(ctx)
		ctx.Dispatch(func(ctx app.Context) {
			delete(l.busy, id)
			delete(l.progress, id)
			if err != nil {
				l.err = kit.Describe(err)
				return
			}
			l.msg = msg
			if reload {
				l.load(ctx)
			}
		})
	})
}

func (l *releaseList) promote(ctx app.Context, c release.Checked) {
	to := l.promoteTo[c.Release.ID]
	l.act(ctx, c.Release.ID, true, func(ctx context.Context) (string, error) {
		if to == "" {
			return "", kit.ErrNoChannel
		}
		_, err := l.App.API.Promote(ctx, c.Release.ID, to)
		return "Promoted " + c.Release.Version + " to " + to + ".", err
	})
}

func (l *releaseList) yank(ctx app.Context, c release.Checked) {
	reason := strings.TrimSpace(l.yankReason[c.Release.ID])
	l.act(ctx, c.Release.ID, true, func(ctx context.Context) (string, error) {
		if reason == "" {
			return "", kit.ErrNoReason
		}
		_, err := l.App.API.Yank(ctx, c.Release.ID, reason)
		return "Yanked " + c.Release.Version + ".", err
	})
}

func (l *releaseList) onProgress(ctx app.Context, id string) func(done, total int64) {
	last := int64(-1)
	return func(done, total int64) {
		pct := int64(0)
		if total > 0 {
			pct = done * 100 / total
		}
		if pct == last {
			return
		}
		last = pct
		ctx.Dispatch(func(app.Context) { l.progress[id] = [2]int64{done, total} })
	}
}

func releaseFileName(r client.Release, ext string) string {
	name := r.Product + "-" + strings.ReplaceAll(r.Version, "+", "_")
	if r.Component != 0 {
		name += "-image" + strconv.Itoa(r.Component)
	}
	return name + ext
}

func (l *releaseList) download(ctx app.Context, c release.Checked) {
	l.act(ctx, c.Release.ID, false, func(jctx context.Context) (string, error) {
		data, err := l.App.API.Bundle(jctx, c.Release.ID, maxDownload, l.onProgress(ctx, c.Release.ID))
		if err != nil {
			return "", err
		}
		name := releaseFileName(c.Release, ".tfb")
		return "Saved " + name + " (still encrypted).", kit.SaveFile(name, "application/vnd.trustforge.bundle", data)
	})
}

// open downloads the payload, decrypts it with the vault's age identities
// and saves the MCUboot image, checked against the verified manifest.
func (l *releaseList) open(ctx app.Context, c release.Checked) {
	l.act(ctx, c.Release.ID, false, func(jctx context.Context) (string, error) {
		v, err := l.App.UnlockedVault()
		if err != nil {
			return "", err
		}
		ids, err := v.Identities(jctx)
		if err != nil {
			return "", err
		}
		payload, err := l.App.API.Payload(jctx, c.Release.ID, maxDownload, l.onProgress(ctx, c.Release.ID))
		if err != nil {
			return "", err
		}
		img, err := release.Open(jctx, c, payload, ids, nil, kit.YieldToBrowser)
		if err != nil {
			return "", err
		}
		name := releaseFileName(c.Release, ".signed.bin")
		return "Opened and verified " + c.Release.Version + "; saved " + name + ".", kit.SaveFile(name, "application/octet-stream", img)
	})
}
