package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// netlog records every request a tab makes, with its body, through the
// Network domain of the DevTools protocol: the page's, and its dedicated
// workers' (the console uploads a release from its hash worker), each
// worker attached as the page starts it.
type netlog struct {
	ctx  context.Context
	mu   sync.Mutex
	reqs []*loggedRequest
}

type loggedRequest struct {
	ctx     context.Context // the page's or a worker's, to fetch the body
	id      network.RequestID
	method  string
	url     string
	hasBody bool
	body    []byte
}

// recordRequests starts recording the requests of the tab of ctx. Start it
// before the page makes the requests of interest.
func recordRequests(tb testing.TB, ctx context.Context) *netlog {
	tb.Helper()
	l := &netlog{ctx: ctx}
	sent := chromedp.Events(ctx, network.RequestWillBeSent)
	workers := chromedp.Events(ctx, target.AttachedToTarget)
	if _, err := chromedp.Call(ctx, network.Enable, netlogBuffers()); err != nil {
		tb.Fatal(err)
	}
	go func() {
		for ev, err := range sent {
			if err != nil {
				return
			}
			l.add(ctx, &ev)
		}
	}()
	// The tab auto-attaches the workers the page starts (chromedp sets
	// it up so); each is attached once more here, to record its requests
	// from its first.
	go func() {
		for ev, err := range workers {
			if err != nil {
				return
			}
			if ev.TargetInfo == nil || ev.TargetInfo.Type != "worker" {
				continue
			}
			var wctx context.Context
			wctx, _ = chromedp.NewContext(ctx, chromedp.WithTargetID(ev.TargetInfo.TargetID),
				chromedp.WithListener(func(e any) {
					if e, ok := e.(*network.EventRequestWillBeSent); ok {
						l.add(wctx, e)
					}
				}))
			if _, err := chromedp.Call(wctx, network.Enable, netlogBuffers()); err != nil {
				tb.Logf("recording the requests of worker %s: %v", ev.TargetInfo.URL, err)
			}
		}
	}()
	return l
}

// netlogBuffers enables the Network domain with room for the bodies of
// the largest uploads the tests make.
func netlogBuffers() network.EnableParams {
	max := int64(64 << 20)
	return network.EnableParams{MaxPostDataSize: &max, MaxTotalBufferSize: &max, MaxResourceBufferSize: &max}
}

// add records a request sent in the target of ctx.
func (l *netlog) add(ctx context.Context, ev *network.EventRequestWillBeSent) {
	r := &loggedRequest{ctx: ctx, id: ev.RequestID, method: ev.Request.Method, url: ev.Request.URL, hasBody: ev.Request.HasPostData}
	for _, e := range ev.Request.PostDataEntries {
		r.body = append(r.body, e.Bytes...)
	}
	l.mu.Lock()
	l.reqs = append(l.reqs, r)
	l.mu.Unlock()
}

// requests returns what was recorded, fetching bodies the events left out.
func (l *netlog) requests(tb testing.TB) []*loggedRequest {
	tb.Helper()
	l.mu.Lock()
	reqs := append([]*loggedRequest(nil), l.reqs...)
	l.mu.Unlock()
	for _, r := range reqs {
		if !r.hasBody || len(r.body) > 0 {
			continue
		}
		res, err := chromedp.Call(r.ctx, network.GetRequestPostData, network.GetRequestPostDataParams{RequestID: r.id})
		if err != nil {
			tb.Fatalf("%s %s has a body the browser will not show: %v", r.method, r.url, err)
		}
		r.body = res.PostData
	}
	return reqs
}

// secret is something that must never leave the browser, with the forms
// it could travel in.
type secret struct {
	what  string
	forms [][]byte
}

// newSecret returns a secret with its raw, hex and base64 forms.
func newSecret(what string, raw []byte) secret {
	s := secret{what: what}
	s.forms = append(s.forms, raw, []byte(hex.EncodeToString(raw)), []byte(base64.StdEncoding.EncodeToString(raw)),
		[]byte(base64.RawURLEncoding.EncodeToString(raw)))
	return s
}

// firmwareSecrets returns windows of the firmware at spread offsets: a body
// holding any part of the plaintext would contain one of them.
func firmwareSecrets(fw []byte) []secret {
	var out []secret
	const window = 48
	for _, off := range []int{0, len(fw) / 4, len(fw) / 2, 3 * len(fw) / 4, len(fw) - window} {
		out = append(out, newSecret(fmt.Sprintf("firmware bytes at %d", off), fw[off:off+window]))
	}
	return out
}

// checkNoSecrets fails tb if any recorded request body holds a secret.
func (l *netlog) checkNoSecrets(tb testing.TB, secrets []secret) (bodies int) {
	tb.Helper()
	for _, r := range l.requests(tb) {
		if len(r.body) == 0 {
			continue
		}
		bodies++
		for _, s := range secrets {
			for _, f := range s.forms {
				if len(f) >= 8 && bytes.Contains(r.body, f) {
					tb.Errorf("%s %s sent %s to the server", r.method, r.url, s.what)
				}
			}
		}
	}
	return bodies
}
