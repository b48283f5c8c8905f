package driver

import (
	"context"
	"fmt"

	"github.com/chromedp/chromedp"
)

// actionable waits, in the page, until the element sel matches can take a
// click as a person would give it: shown, scrolled into view, at the same
// place and size for three animation frames, and the topmost element at
// its centre (the centre of its first line, for a link that wraps). It
// answers the centre's coordinates, or, after ten seconds, why not.
const actionable = `(async (sel) => {
	const start = performance.now();
	let last = "", same = 0, why = "it is not in the page";
	for (;;) {
		const now = performance.now();
		const el = document.querySelector(sel);
		if (!el) {
			last = "", same = 0, why = "it is not in the page";
		} else {
			let r = el.getBoundingClientRect();
			if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) {
				el.scrollIntoView({block: "center", inline: "nearest"});
				r = el.getBoundingClientRect();
			}
			const at = [r.x, r.y, r.width, r.height].join(",");
			if (r.width === 0 || r.height === 0) {
				last = "", same = 0, why = "it is not shown";
			} else {
				if (at === last) { same++; } else { last = at, same = 0, why = "it kept moving"; }
				// Still for three frames; or, for an element that keeps
				// moving (a growing log above it), where it is after 1.5 s.
				if (same >= 3 || now - start > 1500) {
					// A link that wraps has a box per line: aim at the first.
					const box = [...el.getClientRects()].find((b) => b.width > 0 && b.height > 0) || r;
					const x = box.x + box.width / 2, y = box.y + box.height / 2;
					const hit = document.elementFromPoint(x, y);
					if (hit && (hit === el || el.contains(hit))) return {x, y, why: ""};
					why = "it is covered by " + (hit ? hit.nodeName.toLowerCase() + (hit.id ? "#" + hit.id : "") : "nothing");
				}
			}
		}
		if (now - start > 10000) return {x: 0, y: 0, why};
		await new Promise((done) => requestAnimationFrame(() => done()));
	}
})(%q)`

// Click clicks the element the CSS selector sel matches, at its centre,
// once it has stopped moving and nothing covers it. A click aimed while a
// page is still laying out (a list arriving above the element, a panel
// opening) can land on whatever moved under the pointer; Click waits, up
// to ten seconds, for the element to hold still, as a person looks before
// clicking.
func Click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		type point struct {
			X, Y float64
			Why  string
		}
		p, err := chromedp.Evaluate[point](fmt.Sprintf(actionable, sel), chromedp.EvalAwaitPromise)(ctx, t)
		if err != nil {
			return fmt.Errorf("clicking %s: %w", sel, err)
		}
		if p.Why != "" {
			return fmt.Errorf("clicking %s: %s", sel, p.Why)
		}
		_, err = chromedp.MouseClickXY(p.X, p.Y)(ctx, t)
		return err
	})
}

// ClickID clicks the element whose id is id, as Click does.
func ClickID(id string) chromedp.Action[chromedp.Void] {
	return Click(fmt.Sprintf("[id=%q]", id))
}
