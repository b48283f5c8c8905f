package board

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/devices/smp"
	"trustforge/internal/usererr"
	"trustforge/wasm/client"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// This file holds what the Devices page's upload panel and the update flow
// share: how large a file may be, where a product's keys come from, and how
// an upload's progress is shown.

// MaxUploadFile bounds a file picked for upload.
const MaxUploadFile = 64 << 20

// ProductKeys returns a product's registered signing keys: from the
// server, or, without network, from a release of the product in the cache.
func ProductKeys(ctx context.Context, st *state.App, boards *Kit, product string) ([]client.Key, error) {
	ks, err := st.API.Keys(ctx, product)
	if err == nil {
		return ks, nil
	}
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Status != 401 {
		return nil, err
	}
	cache, _, serr := boards.Stores(ctx)
	if serr != nil {
		return nil, err
	}
	entries, _ := cache.List(ctx)
	for _, e := range entries {
		if e.Release.Product == product && len(e.Keys) > 0 {
			return e.Keys, nil
		}
	}
	return nil, usererr.Errorf("ui", "the signing keys of %s are not known here (%w): download one of its releases while online first", product, err)
}

// UploadProgress shows an upload's progress: bytes, rate and time left.
func UploadProgress(id string, pr smp.UploadProgress) app.UI {
	text := fmt.Sprintf("%s of %s", kit.SizeText(pr.Offset), kit.SizeText(pr.Total))
	if pr.Rate > 0 {
		text += fmt.Sprintf(" · %s/s", kit.SizeText(int64(pr.Rate)))
	}
	if pr.ETA > 0 && pr.Offset < pr.Total {
		text += fmt.Sprintf(" · %s left", pr.ETA.Round(time.Second))
	}
	if pr.Start > 0 {
		text += fmt.Sprintf(" · resumed at %s", kit.SizeText(pr.Start))
	}
	return app.Div().ID(id).DataSet("testid", id).DataSet("offset", pr.Offset).DataSet("total", pr.Total).Class("progress").Body(
		app.Progress().ID(id+"-bar").Max(max(pr.Total, 1)).Value(pr.Offset).Aria("label", "Upload"),
		app.Span().ID(id+"-text").Class("progress-text").Text(text),
	)
}
