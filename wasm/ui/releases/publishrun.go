package releases

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/internal/usererr"
	"trustforge/wasm/client"
	"trustforge/wasm/release"
	"trustforge/wasm/ui/kit"
)

// This file is the publish form's work: from the "Publish" click to the
// uploaded release, off the UI goroutine.

// publishParams are the form's values, checked.
type publishParams struct {
	file       kit.PickedFile
	in         release.Input
	keyID      string
	encryptID  string
	recipients []string
}

func parseSize(field, s string, def int) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(s, 0, 31)
	if err != nil {
		return 0, usererr.Errorf("ui", "%s %q is not a number (decimal or 0x hex)", field, s)
	}
	return int(n), nil
}

// params reads and checks the form.
func (f *publishForm) params() (publishParams, error) {
	var p publishParams
	if f.Draft.file == nil {
		return p, usererr.New("ui", "choose the firmware file first")
	}
	p.file = *f.Draft.file
	if f.Draft.product == "" || f.Draft.channel == "" {
		return p, usererr.New("ui", "choose a product and a channel")
	}
	if f.Draft.keyID == "" {
		return p, usererr.New("ui", "choose a signing key (generate or import one on the Keys page)")
	}
	hs, err := parseSize("header size", f.Draft.headerSize, 0x200)
	if err != nil {
		return p, err
	}
	align, err := parseSize("alignment", f.Draft.align, 8)
	if err != nil {
		return p, err
	}
	slot, err := parseSize("slot size", f.Draft.slotSize, 0)
	if err != nil {
		return p, err
	}
	var counter *uint32
	if c := strings.TrimSpace(f.Draft.counter); c != "" {
		n, err := strconv.ParseUint(c, 0, 32)
		if err != nil {
			return p, usererr.Errorf("ui", "security counter %q is not a number", c)
		}
		v := uint32(n)
		counter = &v
	}
	for r, on := range f.Draft.chosen {
		if on {
			p.recipients = append(p.recipients, r)
		}
	}
	if len(p.recipients) == 0 {
		return p, usererr.New("ui", "choose at least one recipient who may open the release")
	}
	p.keyID, p.encryptID = f.Draft.keyID, f.Draft.encryptTo
	p.in = release.Input{
		IsHex:           strings.HasSuffix(strings.ToLower(p.file.Name), ".hex"),
		Image:           mcuimg.SignOptions{HeaderSize: hs, PadHeader: f.Draft.padHeader, Align: align, SlotSize: slot},
		Product:         f.Draft.product,
		Channel:         f.Draft.channel,
		Hardware:        splitList(f.Draft.hardware),
		Notes:           f.Draft.notes,
		Version:         strings.TrimSpace(f.Draft.version),
		SecurityCounter: counter,
		Recipients:      p.recipients,
	}
	return p, nil
}

func (f *publishForm) publish(ctx app.Context, e app.Event) {
	ctx = f.ui
	e.PreventDefault()
	if f.running {
		return
	}
	p, err := f.params()
	if err != nil {
		f.err = kit.Describe(err)
		return
	}
	f.App.Touch()
	start := time.Now()
	jobCtx, cancel := context.WithCancel(ctx)
	f.running, f.err, f.result, f.cancel = true, "", nil, cancel
	f.stage, f.done, f.total = release.StageRead, 0, p.file.Size
	ctx.Async(func() {
		res, err := f.run(jobCtx, ctx, p, start)
		cancel()
		ctx.Dispatch(func(ctx app.Context) {
			f.running, f.cancel = false, nil
			if err != nil {
				f.err = kit.Describe(err)
				return
			}
			f.result = res
			f.Draft.file = nil
			if f.OnPublished != nil {
				f.OnPublished(ctx, res.Release)
			}
		})
	})
}

// report shows progress. It re-renders the form at most every
// reportEvery within a stage (uploads report progress very often, and each
// render costs the page time it needs to keep sending).
func (f *publishForm) report(ui app.Context) func(release.Progress) {
	var (
		lastStage release.Stage
		lastAt    time.Time
	)
	return func(p release.Progress) {
		now := time.Now()
		if p.Stage == lastStage && now.Sub(lastAt) < reportEvery && p.Done < p.Total {
			return
		}
		lastStage, lastAt = p.Stage, now
		ui.Dispatch(func(app.Context) { f.stage, f.done, f.total = p.Stage, p.Done, p.Total })
	}
}

// reportEvery is the shortest time between two progress renders.
const reportEvery = 100 * time.Millisecond

func (f *publishForm) run(ctx context.Context, ui app.Context, p publishParams, start time.Time) (*publishResult, error) {
	report := f.report(ui)
	var t timing
	data, err := p.file.ReadBlocks(ctx, release.MaxFirmware, func(done, total int64) {
		report(release.Progress{Stage: release.StageRead, Done: done, Total: total})
	})
	if err != nil {
		return nil, err
	}
	t.Read = time.Since(start)
	v, err := f.App.UnlockedVault()
	if err != nil {
		return nil, err
	}
	k, err := v.Key(ctx, p.keyID)
	if err != nil {
		return nil, err
	}
	priv, err := k.Private()
	if err != nil {
		return nil, err
	}
	var encTo *keys.PublicKey
	if p.encryptID != "" {
		info, err := v.Info(ctx, p.encryptID)
		if err != nil {
			return nil, err
		}
		if encTo, err = info.PublicKey(); err != nil {
			return nil, err
		}
	}
	// Unlocking the key took a turn of the page's thread; signing starts
	// on a turn of its own (the goal: no stall over 50 ms).
	if err := kit.YieldToBrowser(ctx); err != nil {
		return nil, err
	}
	in := p.in
	in.Firmware, in.Key, in.Image.EncryptTo, in.Now = data, priv, encTo, time.Now()
	in.ConsumeFirmware = true // read for this build alone
	built, err := release.Build(ctx, in, report, kit.YieldToBrowser)
	if err != nil {
		return nil, err
	}
	defer built.Release()
	t.Sign, t.Encrypt = built.SignTime, built.EncryptTime
	upStart := time.Now()
	report(release.Progress{Stage: release.StageUpload, Done: 0, Total: built.Len()})
	onSent := func(sent, total int64) {
		report(release.Progress{Stage: release.StageUpload, Done: sent, Total: total})
	}
	var rel client.Release
	if built.Payload != nil {
		// Sent by the worker that made and keeps the payload.
		rel, err = f.App.API.PublishKept(ctx, built.Head, built.Payload, onSent)
	} else {
		rel, err = f.App.API.Publish(ctx, built.Bundle.Blocks(), onSent)
	}
	if err != nil {
		return nil, err
	}
	t.Upload = time.Since(upStart)
	t.Total = time.Since(start)
	return &publishResult{Release: rel, Manifest: manifestJSON(built.Manifest), Timing: t}, nil
}
