package driver

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/chromedp/chromedp"
)

// ReadySelector matches the console's root once the WASM has rendered it.
// The server's pre-rendered page carries data-ready="false".
const ReadySelector = `#console[data-ready="true"]`

// Open navigates the tab of ctx to url and waits until the console's WASM has
// rendered.
func Open(ctx context.Context, url string) error {
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("driver: opening %s: %w", url, err)
	}
	return WaitReady(ctx)
}

// WaitReady waits until the console's WASM has rendered the current page.
func WaitReady(ctx context.Context) error {
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(ReadySelector))); err != nil {
		return fmt.Errorf("driver: waiting for the console to render: %w", err)
	}
	return nil
}

// ErrorWatch collects the page exceptions, console errors and browser log
// errors (failed requests, Content-Security-Policy violations) of a tab.
type ErrorWatch struct {
	mu       sync.Mutex
	msgs     []string
	expected []string
	done     chan struct{}
}

// Expect makes the watch ignore errors whose text contains substr: a test
// that provokes an error on purpose (a request with the network cut, say)
// names it here.
func (w *ErrorWatch) Expect(substr string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expected = append(w.expected, substr)
}

// WatchErrors starts collecting the errors of the tab of ctx. Start it before
// navigating: messages are buffered from the moment it returns.
func WatchErrors(ctx context.Context) *ErrorWatch {
	w := &ErrorWatch{done: make(chan struct{})}
	messages := chromedp.Console(ctx)
	tab := chromedp.FromContext(ctx)
	if tab != nil {
		watches.Store(tab, w)
	}
	go func() {
		defer close(w.done)
		if tab != nil {
			defer watches.Delete(tab)
		}
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
				continue
			}
			text := fmt.Sprintf("%s: %s", m.Type, m.Text)
			if m.URL != "" {
				text += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			w.mu.Lock()
			w.msgs = append(w.msgs, text)
			w.mu.Unlock()
		}
	}()
	return w
}

// watches holds each tab's ErrorWatch, by its chromedp context, for the
// driver's own steps to name the errors they provoke (see SignIn).
var watches sync.Map

// watchOf returns the ErrorWatch of the tab of ctx, or nil.
func watchOf(ctx context.Context) *ErrorWatch {
	tab := chromedp.FromContext(ctx)
	if tab == nil {
		return nil
	}
	if w, ok := watches.Load(tab); ok {
		return w.(*ErrorWatch)
	}
	return nil
}

// Errors returns the errors seen so far.
func (w *ErrorWatch) Errors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
next:
	for _, m := range w.msgs {
		for _, e := range w.expected {
			if strings.Contains(m, e) {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// Err returns an error listing every error seen so far, or nil.
func (w *ErrorWatch) Err() error {
	msgs := w.Errors()
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("driver: %d page error(s):\n  %s", len(msgs), strings.Join(msgs, "\n  "))
}
