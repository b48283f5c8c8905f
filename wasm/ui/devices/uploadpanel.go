package devices

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/bundle"
	"trustforge/crypto/mcuimg"
	"trustforge/devices/fwupdate"
	"trustforge/devices/smp"
	"trustforge/internal/usererr"
	"trustforge/wasm/link"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
	"trustforge/wasm/updateflow"
)

// uploadPanel uploads an MCUboot image, or a release bundle (verified and
// decrypted here first), into the board's upload slot, with progress,
// cancel, and resume after an unplug.
type uploadPanel struct {
	app.Compo

	// App is the tab's shared state: the API client and the vault.
	App *state.App
	// Kit holds the link.
	Kit *board.Kit

	status    link.Status
	fileName  string
	img       []byte // the image to upload
	image     int    // its image number
	desc      string // what it is, for people
	hash      []byte // its SHA256 TLV
	opening   bool
	uploading context.CancelFunc
	progress  smp.UploadProgress
	unplugged bool
	resumed   int
	uploaded  bool
	result    *smp.UploadResult
	msg, err  string

	stopLink func()

	// ui is the component's own context, from OnMount: work started by an
	// event handler dispatches through it, because go-app drops the
	// dispatches of a handler's context once its element is gone (a button
	// that the next screen removes).
	ui app.Context
}

func (p *uploadPanel) OnMount(ctx app.Context) {
	p.ui = ctx
	if !app.IsClient {
		return
	}
	p.status = p.Kit.Link.Status()
	p.stopLink = p.Kit.Link.Subscribe(func() {
		ctx.Dispatch(func(app.Context) { p.status = p.Kit.Link.Status() })
	})
}

func (p *uploadPanel) OnDismount() {
	if p.stopLink != nil {
		p.stopLink()
	}
	if p.uploading != nil {
		p.uploading()
	}
}

// pick reads the chosen file: an image is checked (header, TLVs, hash); a
// bundle is verified against its product's keys and decrypted with the
// vault's identities.
func (p *uploadPanel) pick(ctx app.Context, e app.Event) {
	ctx = p.ui
	if p.uploading != nil {
		return // the file being uploaded stays the chosen one
	}
	files, err := kit.InputFiles("upload-file")
	if err != nil || len(files) == 0 {
		return
	}
	f := files[0]
	p.fileName, p.img, p.hash, p.desc, p.msg, p.err, p.uploaded = f.Name, nil, nil, "", "", "", false
	p.opening = true
	ctx.Async(func() {
		img, image, desc, err := p.open(ctx, f)
		var hash []byte
		if err == nil {
			hash, err = imageHash(img)
		}
		ctx.Dispatch(func(app.Context) {
			p.opening = false
			if err != nil {
				p.err = board.DescribeDevice(err)
				return
			}
			p.img, p.image, p.desc, p.hash = img, image, desc, hash
		})
	})
}

func (p *uploadPanel) open(ctx context.Context, f kit.PickedFile) (img []byte, image int, desc string, err error) {
	data, err := f.Read(ctx, board.MaxUploadFile, nil)
	if err != nil {
		return nil, 0, "", err
	}
	if !bytes.HasPrefix(data, []byte(bundle.Magic)) {
		im, err := mcuimg.Parse(data)
		if err != nil {
			return nil, 0, "", usererr.Errorf("ui", "%s is neither an MCUboot image nor a trustforge release: %w", f.Name, err)
		}
		if _, err := im.Verify(mcuimg.VerifyOptions{}); err != nil {
			return nil, 0, "", usererr.Errorf("ui", "%s is damaged: %w", f.Name, err)
		}
		return data, 0, fmt.Sprintf("MCUboot image %s, %s", kit.VersionText(im.Version().String()), kit.SizeText(int64(len(data)))), nil
	}
	// A release: its product's keys come from the server, or from the
	// release cache when offline.
	s, err := bundle.ReadHeader(bytes.NewReader(data))
	if err != nil {
		return nil, 0, "", err
	}
	m, err := s.VerifyIntegrity()
	if err != nil {
		return nil, 0, "", err
	}
	keys, err := board.ProductKeys(ctx, p.App, p.Kit, m.Product)
	if err != nil {
		return nil, 0, "", err
	}
	v, err := p.App.UnlockedVault()
	if err != nil {
		return nil, 0, "", err
	}
	ids, err := v.Identities(ctx)
	if err != nil {
		return nil, 0, "", err
	}
	ver, err := updateflow.Open(ctx, updateflow.Source{Bundle: data, Keys: keys, Identities: ids}, nil, kit.YieldToBrowser)
	if err != nil {
		return nil, 0, "", err
	}
	return ver.Image, ver.Manifest.Component, fmt.Sprintf("release %s %s (verified, signed by %s…), image of %s",
		ver.Manifest.Product, ver.Manifest.Version, ver.Signer[:12], kit.SizeText(int64(len(ver.Image)))), nil
}

func imageHash(img []byte) ([]byte, error) {
	im, err := mcuimg.Parse(img)
	if err != nil {
		return nil, err
	}
	_, h, ok := im.Hash()
	if !ok {
		return nil, usererr.New("ui", "the image has no hash")
	}
	return h, nil
}

func (p *uploadPanel) start(ctx app.Context, e app.Event) {
	ctx = p.ui
	if p.img == nil || p.uploading != nil {
		return
	}
	uctx, cancel := context.WithCancel(context.Background())
	p.uploading, p.progress, p.unplugged, p.resumed, p.uploaded, p.result, p.msg, p.err = cancel, smp.UploadProgress{Total: int64(len(p.img))}, false, 0, false, nil, "", ""
	img, image := p.img, p.image
	ctx.Async(func() {
		var last time.Time
		res, resumed, err := updateflow.Upload(uctx, p.Kit.Link, img, image, func(ev updateflow.Event) {
			switch {
			case ev.Upload != nil:
				// At most ten redraws a second.
				if now := time.Now(); now.Sub(last) < 100*time.Millisecond && ev.Upload.Offset < ev.Upload.Total {
					return
				} else {
					last = now
				}
				pr := *ev.Upload
				ctx.Dispatch(func(app.Context) { p.progress, p.unplugged = pr, false })
			case ev.Unplugged:
				ctx.Dispatch(func(app.Context) { p.unplugged = true })
			}
		})
		cancel()
		p.Kit.Board.Notify()
		ctx.Dispatch(func(app.Context) {
			p.uploading, p.unplugged, p.resumed = nil, false, resumed
			if err != nil {
				p.err = board.DescribeDevice(err)
				return
			}
			p.uploaded, p.result = true, res
			p.progress.Offset = p.progress.Total
			p.msg = fmt.Sprintf("Uploaded %s in %.1f s", kit.SizeText(res.Size), res.Elapsed.Seconds())
			if resumed > 0 {
				p.msg += fmt.Sprintf(", resumed %d time(s) from where the board stopped", resumed)
			}
			if res.Checked {
				p.msg += "; the board checked its SHA-256"
			}
			p.msg += "."
		})
	})
}

func (p *uploadPanel) cancel(ctx app.Context, e app.Event) {
	if p.uploading != nil {
		p.uploading()
	}
}

// testUploaded marks the uploaded image for a test boot.
func (p *uploadPanel) testUploaded(ctx app.Context, e app.Event) {
	ctx = p.ui
	hash := p.hash
	p.msg, p.err = "", ""
	ctx.Async(func() {
		cl, err := p.Kit.Link.Client()
		if err == nil {
			err = fwupdate.TestBoot(ctx, cl, hash)
		}
		p.Kit.Board.Notify()
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				p.err = board.DescribeDevice(err)
				return
			}
			p.msg = "The image will boot once at the next reset: press Reset, then Confirm once it runs well."
		})
	})
}

func (p *uploadPanel) Render() app.UI {
	connected := p.status.State == link.Connected
	uploading := p.uploading != nil
	return app.Section().ID("upload").Class("panel").DataSet("testid", "upload").Aria("label", "Upload").Body(
		app.H2().Text("Upload an image or a release"),
		app.P().Class("muted").Text("An MCUboot image (.bin) goes as it is; a release (.tfb) is verified against its product's keys and decrypted in this browser first."),
		app.Div().Class("form-inline").Body(
			kit.Pair(app.Label().For("upload-file").Text("File"),
				kit.FilePicker("upload-file", "Choose an image or release…", ".bin,.img,.tfb,.signed", p.fileName, p.pick)),
		),
		app.If(p.opening, func() app.UI {
			return app.P().ID("upload-opening").Class("muted").Text("Checking " + p.fileName + "…")
		}),
		app.If(p.desc != "", func() app.UI {
			return app.P().ID("upload-file-info").DataSet("testid", "upload-file-info").DataSet("hash", hex.EncodeToString(p.hash)).
				Text(p.desc + ", SHA256 " + shortHash(p.hash))
		}),
		app.Div().Class("form-actions").Body(
			app.Button().ID("upload-start").DataSet("testid", "upload-start").Class("btn-primary").Disabled(!connected || p.img == nil || uploading).
				Text("Upload").OnClick(p.start),
			app.If(uploading, func() app.UI {
				return app.Button().ID("upload-cancel").DataSet("testid", "upload-cancel").Class("btn-ghost").Text("Cancel").OnClick(p.cancel)
			}),
			app.If(p.uploaded && connected, func() app.UI {
				return app.Button().ID("upload-test").DataSet("testid", "upload-test").Class("btn-ghost").
					Text("Test it at the next reset").OnClick(p.testUploaded)
			}),
		),
		app.If(uploading || p.uploaded, func() app.UI {
			return board.UploadProgress("upload-progress", p.progress)
		}),
		app.If(p.unplugged, func() app.UI {
			return app.P().ID("upload-unplugged").DataSet("testid", "upload-unplugged").Class("banner banner-warn").Aria("live", "assertive").
				Text(fmt.Sprintf("Board unplugged at %s of %s: plug it back in and the upload resumes from there.",
					kit.SizeText(p.progress.Offset), kit.SizeText(p.progress.Total)))
		}),
		app.If(p.msg != "", func() app.UI {
			m := app.P().ID("upload-message").DataSet("testid", "upload-message").Class("ok").Aria("live", "polite").Text(p.msg)
			if p.result != nil {
				// For rigs and benchmarks: the upload's own measure.
				m = m.DataSet("bytes", p.result.Size-p.result.Start).DataSet("elapsed-us", p.result.Elapsed.Microseconds()).
					DataSet("resumed", p.resumed)
			}
			return m
		}),
		app.If(p.err != "", func() app.UI {
			return app.P().ID("upload-error").DataSet("testid", "upload-error").Class("error").Aria("live", "assertive").Text(p.err)
		}),
	)
}
