package update

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/internal/apiwire"
	"trustforge/wasm/client"
	"trustforge/wasm/releasecache"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
	"trustforge/wasm/updateflow"
)

// This file is the update flow's first two screens: choosing the release
// (from the server, the browser's cache of downloaded releases, or a file)
// and connecting the board.

// loadReleases lists the server's products and the cached releases. Without
// a network (or a session) only the cache is listed.
func (p *updateFlow) loadReleases(ctx app.Context) {
	ctx = p.ui
	ctx.Async(func() {
		p.Kit.Technician(ctx, p.App) // remembered for a reload without network
		cache, _, err := p.Kit.Stores(ctx)
		var cached []releasecache.Entry
		if err == nil {
			all, _ := cache.List(ctx)
			for _, e := range all {
				if e.Complete() {
					cached = append(cached, e)
				}
			}
		}
		offline := ""
		var products []client.Product
		if _, ok := p.App.Session(); !ok && p.App.SessionChecked() {
			offline = "Sign in to download releases from the server; releases already downloaded to this browser are listed below."
		} else if !p.App.Can(apiwire.PermRead) {
			offline = "Your role does not list the server's releases: flash a release downloaded to this browser (below) or a release file."
		} else if products, err = p.App.API.Products(ctx); err != nil {
			offline = "The server cannot be reached: releases already downloaded to this browser are listed below."
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.loaded, p.cached, p.offline, p.products = true, cached, offline, products
			if p.product == "" && len(products) > 0 {
				p.product, p.channel, p.channelPicked = products[0].Name, "", false
			}
			p.listOffered(ctx)
		})
	})
}

// listOffered lists the releases offered on the chosen channel, or on
// every channel. Until the technician picks a channel, the one offering
// the product's newest release is chosen for them.
func (p *updateFlow) listOffered(ctx app.Context) {
	ctx = p.ui
	product, channel, picked := p.product, p.channel, p.channelPicked
	if product == "" || p.offline != "" {
		p.offered, p.offeredListing = nil, false
		return
	}
	// What was listed for another product or channel goes at once: a row
	// left from the previous choice must never be the one flashed. The
	// same choice listed again (after each download) keeps its rows until
	// the new list comes, so that the table does not collapse and come
	// back, moving the rows below it under the technician's pointer.
	if p.offeredFor != [2]string{product, channel} {
		p.offered = nil
	}
	p.offeredListing = len(p.offered) == 0
	var channels []string
	for _, pr := range p.products {
		if pr.Name == product {
			channels = pr.Channels
		}
	}
	ctx.Async(func() {
		rels, err := p.App.API.Releases(ctx, client.Filter{Product: product})
		if !picked {
			channel = updateflow.DefaultChannel(channels, rels)
		}
		var offered []client.Release
		for _, r := range rels {
			if r.Yanked == nil && (r.OfferedOn(channel) || (channel == "" && len(r.Offers) > 0)) {
				offered = append(offered, r)
			}
		}
		ctx.Dispatch(func(app.Context) {
			if product != p.product || picked != p.channelPicked || (picked && channel != p.channel) {
				return // the technician chose something else meanwhile
			}
			p.channel, p.offered, p.offeredListing = channel, offered, false
			p.offeredFor = [2]string{product, channel}
			if err != nil {
				p.pickErr = kit.Describe(err)
			}
		})
	})
}

func (p *updateFlow) chooseProduct(ctx app.Context, e app.Event) {
	p.product = ctx.JSSrc().Get("value").String()
	p.channel, p.channelPicked = "", false
	p.listOffered(ctx)
}

func (p *updateFlow) chooseChannel(ctx app.Context, e app.Event) {
	p.channel, p.channelPicked = ctx.JSSrc().Get("value").String(), true
	p.listOffered(ctx)
}

// download stores a release in the browser with its product's keys,
// resuming an earlier, interrupted download; with flash, the guided update
// then goes on with it to connecting the board.
func (p *updateFlow) download(ctx app.Context, rel client.Release, flash bool) {
	ctx = p.ui
	if p.dl != "" {
		return
	}
	p.dl, p.dlHave, p.dlTotal, p.pickErr, p.relMsg = rel.ID, 0, rel.BundleSize, "", ""
	ctx.Async(func() {
		cache, _, err := p.Kit.Stores(ctx)
		var keys []client.Key
		if err == nil {
			keys, err = p.App.API.Keys(ctx, rel.Product)
		}
		var last time.Time
		var entry releasecache.Entry
		if err == nil {
			entry, err = cache.Download(ctx, p.App.API, rel, keys, func(have, total int64) {
				if now := time.Now(); now.Sub(last) > 100*time.Millisecond || have == total {
					last = now
					ctx.Dispatch(func(app.Context) { p.dlHave, p.dlTotal = have, total })
				}
			})
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.dl = ""
			if err != nil {
				p.pickErr = board.DescribeDevice(err)
				return
			}
			p.relMsg = fmt.Sprintf("%s %s is downloaded: it can be flashed without network.", rel.Product, rel.Version)
			p.loadReleases(ctx)
			if flash && p.screen == screenRelease {
				p.useCached(ctx, entry)
			}
		})
	})
}

func (p *updateFlow) useCached(ctx app.Context, e releasecache.Entry) {
	p.chosen = &choice{entry: &e, label: fmt.Sprintf("%s %s (%s channel)", e.Release.Product, e.Release.Version, e.Release.Channel)}
	p.screen = screenBoard
}

func (p *updateFlow) deleteCached(ctx app.Context, e releasecache.Entry) {
	ctx = p.ui
	ctx.Async(func() {
		cache, _, err := p.Kit.Stores(ctx)
		if err == nil {
			err = cache.Delete(ctx, e.Release.ID)
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.pickErr = board.DescribeDevice(err)
			}
			p.loadReleases(ctx)
		})
	})
}

func (p *updateFlow) pickFile(ctx app.Context, e app.Event) {
	ctx = p.ui
	files, err := kit.InputFiles("update-file")
	if err != nil || len(files) == 0 {
		return
	}
	f := files[0]
	p.pickErr = ""
	ctx.Async(func() {
		data, err := f.Read(context.Background(), board.MaxUploadFile, nil)
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				p.pickErr = board.DescribeDevice(err)
				return
			}
			p.chosen = &choice{file: data, label: f.Name}
			p.screen = screenBoard
		})
	})
}

func (p *updateFlow) isCached(id string) bool {
	for _, e := range p.cached {
		if e.Release.ID == id {
			return true
		}
	}
	return false
}

func (p *updateFlow) renderRelease() app.UI {
	section := kit.Room(app.Section().ID("step-release"), "step-release", p.loaded && !p.offeredListing).DataSet("testid", "step-release").Class("panel").Aria("label", "Choose the release")
	if !p.loaded {
		// Until the releases are listed, the room holds their place: the
		// lists and the server's controls come together.
		return section.Body(
			app.H2().Text("1. Choose the release"),
			app.P().ID("update-releases-loading").Class("muted").Aria("live", "polite").Text("Looking for releases…"),
		)
	}
	return section.Body(
		app.H2().Text("1. Choose the release"),
		app.If(p.offline != "", func() app.UI {
			return app.P().ID("update-offline").DataSet("testid", "update-offline").Class("banner banner-info").Text(p.offline)
		}).Else(func() app.UI {
			return p.renderServerReleases()
		}),
		app.H3().Text("Downloaded to this browser"),
		app.If(len(p.cached) == 0, func() app.UI {
			return app.P().ID("cached-none").Class("muted").Text("No release downloaded yet.")
		}).Else(func() app.UI {
			return app.Table().ID("cached-releases").Class("table").Body(app.THead().Body(app.Tr().Body(
				app.Th().Text("Product"), app.Th().Text("Version"), app.Th().Text("Channel"), app.Th().Text("Downloaded"),
				app.Th().Text("Actions"))), app.TBody().Body(
				app.Range(p.cached).Slice(func(i int) app.UI {
					e := p.cached[i]
					r := e.Release
					return app.Tr().ID(fmt.Sprintf("cached-%d", i)).DataSet("testid", "cached-release").
						DataSet("product", r.Product).DataSet("version", r.Version).Body(
						app.Td().Text(r.Product), app.Td().Class("version").Text(r.Version), app.Td().Text(r.Channel),
						app.Td().Class("muted").Text(e.Saved.Local().Format("2006-01-02 15:04")),
						kit.ActionsCell(
							app.Button().ID(fmt.Sprintf("use-%d", i)).DataSet("testid", "use-release").
								DataSet("product", r.Product).DataSet("version", r.Version).
								Text("Flash this release").OnClick(func(ctx app.Context, _ app.Event) { p.useCached(ctx, e) }, app.EventScope(r.ID)),
							app.Button().ID(fmt.Sprintf("forget-%d", i)).Class("btn-small btn-ghost").
								Text("Delete").OnClick(func(ctx app.Context, _ app.Event) { p.deleteCached(ctx, e) }, app.EventScope(r.ID)),
						),
					)
				}),
			))
		}),
		app.H3().Text("Or a release file"),
		app.Div().Class("form-inline").Body(
			kit.Pair(app.Label().For("update-file").Text("Release bundle (.tfb)"),
				kit.FilePicker("update-file", "Choose a release file…", ".tfb", "", p.pickFile)),
		),
		app.If(p.relMsg != "", func() app.UI {
			return app.P().ID("release-message").DataSet("testid", "release-message").Class("ok").Aria("live", "polite").Text(p.relMsg)
		}),
		app.If(p.pickErr != "", func() app.UI {
			return app.P().ID("release-error").DataSet("testid", "release-error").Class("error").Aria("live", "assertive").Text(p.pickErr)
		}),
	)
}

func (p *updateFlow) renderServerReleases() app.UI {
	var channels []string
	for _, pr := range p.products {
		if pr.Name == p.product {
			channels = pr.Channels
		}
	}
	return app.Div().ID("server-releases").Body(
		app.Div().Class("form-inline").Body(
			kit.Pair(app.Label().For("update-product").Text("Product"),
				app.Select().ID("update-product").Class("from-server").DataSet("testid", "update-product").OnChange(p.chooseProduct).Body(
					app.Range(p.products).Slice(func(i int) app.UI {
						n := p.products[i].Name
						return app.Option().Value(n).Selected(n == p.product).Text(n)
					}))),
			kit.Pair(app.Label().For("update-channel").Text("Channel"),
				app.Select().ID("update-channel").Class("from-server").DataSet("testid", "update-channel").OnChange(p.chooseChannel).Body(
					app.Option().Value("").Selected(p.channel == "").Text("all channels"),
					app.Range(channels).Slice(func(i int) app.UI {
						return app.Option().Value(channels[i]).Selected(channels[i] == p.channel).Text(channels[i])
					}))),
		),
		kit.Room(app.Div().ID("offered-room"), "offered", !p.offeredListing).Body(app.If(p.offeredListing, func() app.UI {
			return app.P().ID("offered-listing").Class("muted").Aria("live", "polite").Text("Listing the releases offered…")
		}).ElseIf(len(p.offered) == 0, func() app.UI {
			if p.channel == "" {
				return app.P().ID("offered-none").Class("muted").Text("No release of " + p.product + " is offered yet.")
			}
			return app.P().ID("offered-none").Class("muted").Text("No release is offered on " + p.channel + ".")
		}).Else(func() app.UI {
			return app.Table().ID("offered-releases").Class("table").Body(app.THead().Body(app.Tr().Body(
				app.Th().Text("Version"), app.Th().Text("Channels"), app.Th().Text("Size"), app.Th().Text("Actions"))), app.TBody().Body(
				app.Range(p.offered).Slice(func(i int) app.UI {
					r := p.offered[i]
					cached := p.isCached(r.ID)
					var chans []string
					for _, o := range r.Offers {
						chans = append(chans, o.Channel)
					}
					return app.Tr().ID(fmt.Sprintf("offered-%d", i)).DataSet("testid", "offered-release").DataSet("version", r.Version).Body(
						app.Td().Class("version").Text(r.Version),
						app.Td().Text(strings.Join(chans, ", ")),
						app.Td().Class("muted").Text(kit.SizeText(r.BundleSize)),
						kit.ActionsCell(
							app.If(cached, func() app.UI {
								return app.Span().Class("badge badge-ok").Text("downloaded")
							}).Else(func() app.UI {
								return app.Span().Class("actions").Body(
									app.Button().ID(fmt.Sprintf("download-flash-%d", i)).DataSet("testid", "download-flash-release").
										DataSet("version", r.Version).Class("btn-primary").Disabled(p.dl != "").
										Text("Download and flash").OnClick(func(ctx app.Context, _ app.Event) { p.download(ctx, r, true) }, app.EventScope(r.ID)),
									app.Button().ID(fmt.Sprintf("download-%d", i)).DataSet("testid", "download-release").
										DataSet("version", r.Version).Class("btn-secondary").Disabled(p.dl != "").
										Text("Download for offline use").OnClick(func(ctx app.Context, _ app.Event) { p.download(ctx, r, false) }, app.EventScope(r.ID)),
								)
							}),
						),
					)
				}),
			))
		})),
		app.If(p.dl != "", func() app.UI {
			return &kit.ProgressBar{ID: "download-progress", Label: "Downloading", Done: p.dlHave, Total: p.dlTotal}
		}),
	)
}

func (p *updateFlow) renderBoard() app.UI {
	return app.Section().ID("step-board").DataSet("testid", "step-board").Class("panel").Aria("label", "Connect the board").Body(
		app.H2().Text("2. Connect the board"),
		app.P().ID("update-chosen").DataSet("testid", "update-chosen").Text("Release: "+p.chosen.label),
		p.renderKind(),
		app.Div().Class("form-actions").Body(
			app.Button().ID("update-back").Class("btn-ghost").Text("Choose another release").OnClick(p.restart),
			app.Button().ID("update-next").DataSet("testid", "update-next").Class("btn-primary").Disabled(!p.boardReady()).
				Text("Verify the release and check the board").OnClick(func(ctx app.Context, e app.Event) {
				p.screen = screenVerify
				p.verifyAndCheck(ctx)
			}),
		),
	)
}
