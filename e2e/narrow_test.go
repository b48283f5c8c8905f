package e2e

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
)

// TestNarrowWindowFits opens every page, with the tour's releases and
// keys, in a 780-pixel window (a laptop's half screen) for each role that
// sees wide tables: the page is no wider than the window, and the
// navigation keeps its width, and no label of an inline form ends one
// line with its field starting the next. A wide table once made the
// content, and so the page, wider than the window; the navigation gave up
// width to it as it arrived, and everything beside it moved. The releases'
// Channel and the audit log's Filter were left at the end of their lines.
func TestNarrowWindowFits(t *testing.T) {
	populatedFleet(t)
	for _, role := range tourRoles(t) {
		if role.User == "" || role.Name == "station" {
			continue
		}
		t.Run(role.Name, func(t *testing.T) {
			ctx, _ := newWorkTab(t, 10*time.Minute)
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(780, 800)); err != nil {
				t.Fatal(err)
			}
			prepareTour(t, ctx, env.server.URL, role, "populated")
			for _, p := range tourPages() {
				if err := driver.Open(ctx, env.server.URL+p.Path); err != nil {
					t.Fatal(err)
				}
				settle(t, ctx)
				got, err := chromedp.Run(ctx, chromedp.Evaluate[narrowLayout](`(() => {
					const stranded = [];
					for (const l of document.querySelectorAll(".form-inline > label[for], .form-inline > .pair > label[for]")) {
						const field = document.getElementById(l.htmlFor);
						const a = l.getBoundingClientRect();
						if (!field || a.width <= 1 || a.height <= 1) continue;
						// A file picker's input is hidden; its button is what shows.
						const shown = field.type === "file" ? (field.labels && [...field.labels].find((x) => x !== l)) || field.parentElement : field;
						const b = shown.getBoundingClientRect();
						if (b.width <= 1 || b.height <= 1) continue;
						if (b.top >= a.bottom || b.bottom <= a.top) stranded.push(l.textContent.trim());
					}
					return {
						ScrollWidth: document.documentElement.scrollWidth,
						ClientWidth: document.documentElement.clientWidth,
						NavWidth: document.querySelector(".nav").getBoundingClientRect().width,
						Stranded: stranded,
					};
				})()`))
				if err != nil {
					t.Fatal(err)
				}
				label := pageLabel(role, "populated", p)
				if got.ScrollWidth > got.ClientWidth {
					t.Errorf("%s: the page is %.0f px wide in a window of %.0f", label, got.ScrollWidth, got.ClientWidth)
				}
				if got.NavWidth < 207 || got.NavWidth > 209 {
					t.Errorf("%s: the navigation is %.1f px wide, not its 13rem (208 px)", label, got.NavWidth)
				}
				if len(got.Stranded) > 0 {
					t.Errorf("%s: labels on another line than their fields: %q", label, got.Stranded)
				}
			}
		})
	}
}

// narrowLayout is what TestNarrowWindowFits reads of a page: its width
// against the window's, the navigation's width, and the labels of inline
// forms that wrapped onto another line than the field they name.
type narrowLayout struct {
	ScrollWidth, ClientWidth, NavWidth float64
	Stranded                           []string
}

// TestWideTablesAreCardsWhenNarrow opens the pages with the widest tables,
// with the tour's data, in a 780-pixel window and a 1,280-pixel one. In
// the narrow one each row of those tables is a card: every cell lies
// inside the block holding the table, not behind a horizontal scroll, each
// behind its column's name; in the wide one they are tables with their
// headers. Before, at 780 px the releases' State and Actions columns, the
// API tokens' Actions and the audit log's Details were past the panel's
// edge. The top bar keeps a gap between the brand and the session, however
// long the account's roles (they once met at 780 px). The lines of an
// audit entry's details sit close together: they once took the margins of
// the station's package summary, which shared their class name.
func TestWideTablesAreCardsWhenNarrow(t *testing.T) {
	populatedFleet(t)
	roles := map[string]tourRole{}
	for _, role := range tourRoles(t) {
		roles[role.Name] = role
	}
	for _, c := range []struct {
		role, path string
		tables     []string
	}{
		{"engineer", "/releases", []string{"releases-table"}},
		{"admin", "/admin", []string{"admin-tokens", "admin-audit-entries"}},
	} {
		t.Run(c.role, func(t *testing.T) {
			ctx, _ := newWorkTab(t, 10*time.Minute)
			prepareTour(t, ctx, env.server.URL, roles[c.role], "populated")
			type layout struct {
				Rows, Cells, Outside, Unlabelled int
				HeaderShown, Overflows           bool
				Gap                              float64
				// DetailGap is the widest space between two lines of
				// a details cell (the audit log's key=value pairs).
				DetailGap float64
			}
			measure := func(width int64, table string) layout {
				t.Helper()
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 800)); err != nil {
					t.Fatal(err)
				}
				if err := driver.Open(ctx, env.server.URL+c.path); err != nil {
					t.Fatal(err)
				}
				settle(t, ctx)
				got, err := chromedp.Run(ctx, chromedp.Evaluate[layout](`((id) => {
					const table = document.getElementById(id);
					const host = table.parentElement, box = host.getBoundingClientRect();
					const rows = [...table.tBodies[0].rows];
					let cells = 0, outside = 0, unlabelled = 0, detailGap = 0;
					for (const td of table.querySelectorAll("td.details")) {
						const lines = [...td.children].map((c) => c.getBoundingClientRect());
						for (let i = 1; i < lines.length; i++) detailGap = Math.max(detailGap, lines[i].top - lines[i - 1].bottom);
					}
					for (const r of rows) for (const td of r.cells) {
						const b = td.getBoundingClientRect();
						cells++;
						if (b.right > box.right + 0.5 || b.left < box.left - 0.5) outside++;
						const label = getComputedStyle(td, "::before").content;
						if (label === "none" || label === '""') unlabelled++;
					}
					const brand = document.querySelector(".brand").getBoundingClientRect();
					const session = document.querySelector(".session").getBoundingClientRect();
					return {
						Rows: rows.length, Cells: cells, Outside: outside, Unlabelled: unlabelled,
						HeaderShown: getComputedStyle(table.tHead).display !== "none",
						Overflows: host.scrollWidth > host.clientWidth,
						Gap: session.left - brand.right,
						DetailGap: detailGap,
					};
				})(`+strconv.Quote(table)+`)`))
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			for _, table := range c.tables {
				narrow := measure(780, table)
				if narrow.Rows == 0 {
					t.Fatalf("%s: the tour's rows are not listed", table)
				}
				if narrow.HeaderShown || narrow.Outside > 0 || narrow.Overflows || narrow.Unlabelled > 0 {
					t.Errorf("%s at 780 px: %+v; want labelled cards within their block, no header, nothing to scroll to", table, narrow)
				}
				if narrow.DetailGap > 4 {
					t.Errorf("%s at 780 px: %.1f px between two lines of an entry's details; want them close", table, narrow.DetailGap)
				}
				if narrow.Gap < 15 {
					t.Errorf("at 780 px the session is %.1f px from the brand, want at least 1rem", narrow.Gap)
				}
				wide := measure(1280, table)
				if !wide.HeaderShown || wide.Unlabelled != wide.Cells {
					t.Errorf("%s at 1,280 px: %+v; want a table with its header and unlabelled cells", table, wide)
				}
			}
		})
	}
}
