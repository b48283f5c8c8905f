package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeScript is axe-core, which `make test-deps` installs with npm into
// .cache/axe (outside git). The tests fail, rather than skip, without it:
// an accessibility check that silently does not run proves nothing.
var axeScript = sync.OnceValues(func() (string, error) {
	dir := os.Getenv("TRUSTFORGE_AXE_DIR")
	if dir == "" {
		dir = filepath.Join(env.root, ".cache", "axe")
	}
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		return "", fmt.Errorf("e2e: axe-core is not installed (run make test-deps): %w", err)
	}
	return string(b), nil
})

// axeViolation is one rule axe-core found broken, with the elements.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// runAxe checks the page of ctx against WCAG 2.1 A and AA and axe's best
// practices, and returns the serious and critical violations.
func runAxe(tb testing.TB, ctx context.Context) []axeViolation {
	tb.Helper()
	src, err := axeScript()
	if err != nil {
		tb.Fatal(err)
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		tb.Fatal(err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
			tb.Fatalf("loading axe-core: %v", err)
		}
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {
			runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
			resultTypes: ["violations"],
		}).then(r => JSON.stringify({passes: r.passes.length + r.violations.length + r.incomplete.length, violations: r.violations}))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		tb.Fatalf("running axe-core: %v", err)
	}
	var res struct {
		Passes     int            `json:"passes"`
		Violations []axeViolation `json:"violations"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		tb.Fatal(err)
	}
	if res.Passes == 0 {
		tb.Fatal("axe-core checked no rule: the check would prove nothing")
	}
	var bad []axeViolation
	for _, v := range res.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, v)
		}
	}
	return bad
}

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for i, n := range v.Nodes {
		if i == 5 {
			fmt.Fprintf(&b, "\n      … and %d more", len(v.Nodes)-5)
			break
		}
		fmt.Fprintf(&b, "\n      %v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
	}
	return b.String()
}

// keyboardGaps tabs through the page and returns the controls a person
// cannot reach with the keyboard: visible, enabled buttons, links and
// fields that Tab never lands on.
func keyboardGaps(tb testing.TB, ctx context.Context) []string {
	tb.Helper()
	// Tag every control the keyboard should reach, then press Tab until
	// focus comes round again, marking what it lands on.
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => {
		const sel = "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), label.button";
		let i = 0;
		for (const el of document.querySelectorAll(sel)) {
			const r = el.getBoundingClientRect();
			const hidden = el.classList.contains("visually-hidden");
			if (!hidden && (r.width === 0 || r.height === 0)) continue;
			el.dataset.tfKey = String(i++);
		}
		document.activeElement && document.activeElement.blur();
		window.__tfReached = new Set();
		document.addEventListener("focusin", e => {
			const t = e.target;
			if (t.dataset.tfKey) window.__tfReached.add(t.dataset.tfKey);
			// A visually hidden file input is reached through its label.
			if (t.id) for (const l of document.querySelectorAll('label.button[for="' + t.id + '"]'))
				if (l.dataset.tfKey) window.__tfReached.add(l.dataset.tfKey);
		});
		return i;
	})()`))
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < n+10; i++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			tb.Fatal(err)
		}
	}
	missed, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const out = [];
		for (const el of document.querySelectorAll("[data-tf-key]")) {
			if (!window.__tfReached.has(el.dataset.tfKey))
				out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " “" + (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 40) + "”");
			delete el.dataset.tfKey;
		}
		return out;
	})()`))
	if err != nil {
		tb.Fatal(err)
	}
	return missed
}

// TestAccessibility runs axe-core on every page, for every role, empty and
// populated: no serious or critical violation, and every control reached
// by the keyboard.
func TestAccessibility(t *testing.T) {
	if _, err := axeScript(); err != nil {
		t.Fatal(err)
	}
	takeTour(t, func(t *testing.T, ctx context.Context, role tourRole, state string, p tourPage) {
		for _, v := range runAxe(t, ctx) {
			t.Errorf("%s: %s", pageLabel(role, state, p), v)
		}
		for _, m := range keyboardGaps(t, ctx) {
			t.Errorf("%s: not reachable with the keyboard: %s", pageLabel(role, state, p), m)
		}
	})
}
