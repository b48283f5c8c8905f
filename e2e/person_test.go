package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// person drives the console as someone in front of it does: they find
// controls by the words on screen (a button's text, a field's label),
// click, type, pick an option or a file, and wait for what they expect to
// read. No API call, no script that changes the page: what it reads of the
// page it reads the way eyes do. It counts its actions (each click, each
// field typed into, each option or file picked), so a benchmark can report
// how many a task takes.
type person struct {
	tb      testing.TB
	ctx     context.Context
	actions int
	shots   string // a directory for screenshots; "" takes none
	shotN   int
	scope   string // an XPath the controls are looked for in; "" for the page
}

// within looks for controls only in the form or section headed heading
// while fn runs, as a person reads the form they are filling.
func (p *person) within(heading string, fn func()) {
	old := p.scope
	p.scope = fmt.Sprintf(`//*[self::form or self::section or self::fieldset][./*[self::h2 or self::h3 or self::legend][normalize-space(.)=%s]]`, xq(heading))
	defer func() { p.scope = old }()
	fn()
}

func newPerson(tb testing.TB, ctx context.Context) *person {
	return &person{tb: tb, ctx: ctx, shots: os.Getenv("TRUSTFORGE_SHOTS")}
}

// xq quotes s for an XPath string literal.
func xq(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return `'` + s + `'`
}

// buttonX matches an enabled button whose visible words are text or, if
// there is none, such a link: a person waits for a greyed-out button to
// come alive, and takes the form's button over a menu's link of the same
// words.
func (p *person) buttonX(text string) string {
	b := fmt.Sprintf(`%s//button[normalize-space(.)=%s][not(@disabled)]`, p.scope, xq(text))
	return fmt.Sprintf(`(%s | %s//a[normalize-space(.)=%s][not(%s)])`, b, p.scope, xq(text), b)
}

// fieldX matches the form control a label whose words start with label
// names (by its for attribute, or inside it).
func (p *person) fieldX(label string) string {
	l := fmt.Sprintf(`%s//label[starts-with(normalize-space(.), %s)]`, p.scope, xq(label))
	return fmt.Sprintf(`(%s//*[self::input or self::select or self::textarea] | //*[(self::input or self::select or self::textarea) and @id=%s/@for])`, l, l)
}

// settle waits until the element x matches has stayed put for a moment,
// as eyes wait for a page to stop moving before the hand clicks: a click
// aimed while a panel above shrinks lands on whatever slid under it.
func (p *person) settle(x string) {
	p.tb.Helper()
	js := fmt.Sprintf(`new Promise(resolve => {
		const find = () => document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
		const box = () => { const n = find(); if (!n) return ""; const r = n.getBoundingClientRect(); return [r.x, r.y, r.width, r.height].join(","); };
		let last = box(), still = 0, tries = 0;
		const tick = () => {
			const now = box();
			still = (now !== "" && now === last) ? still + 1 : 0;
			last = now;
			if (still >= 3 || ++tries > 100) { resolve(true); return; }
			setTimeout(tick, 50);
		};
		setTimeout(tick, 50);
	})`, x)
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	chromedp.Run(ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
}

func (p *person) do(what string, a chromedp.Action[chromedp.Void]) {
	p.tb.Helper()
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
		err := chromedp.Do(ctx, a)
		cancel()
		if err == nil {
			return
		}
		// The console re-rendered the control between finding it and
		// acting on it: find it again, as eyes do.
		if try < 5 && (strings.Contains(err.Error(), "Could not find node") || strings.Contains(err.Error(), "detached") ||
			strings.Contains(err.Error(), "No node with given id")) {
			continue
		}
		p.shot("failed")
		p.tb.Fatalf("%s: %v", what, err)
	}
}

// click clicks the button or link whose words are text.
func (p *person) click(text string) {
	p.tb.Helper()
	p.actions++
	p.waitFor(p.buttonX(text))
	p.settle(p.buttonX(text))
	p.do("clicking "+xq(text), chromedp.Click(p.buttonX(text)))
}

// clickStarting clicks the button whose words start with prefix.
func (p *person) clickStarting(prefix string) {
	p.tb.Helper()
	p.actions++
	x := fmt.Sprintf(p.scope+`//*[self::button or self::a][starts-with(normalize-space(.), %s)][not(@disabled)]`, xq(prefix))
	p.waitFor(x)
	p.settle(x)
	p.do("clicking "+xq(prefix+"…"), chromedp.Click(x))
}

// clickIn clicks the button whose words are text in the table row that
// starts with the words row.
func (p *person) clickIn(row, text string) {
	p.tb.Helper()
	p.actions++
	x := fmt.Sprintf(`//tr[starts-with(normalize-space(.), %s)]//*[self::button or self::a][normalize-space(.)=%s][not(@disabled)]`, xq(row), xq(text))
	p.waitFor(x)
	p.settle(x)
	p.do("clicking "+xq(text)+" in the row of "+xq(row), chromedp.Click(x))
}

// fill types text into the field labelled label.
func (p *person) fill(label, text string) {
	p.tb.Helper()
	p.actions++
	p.do("typing into "+xq(label), chromedp.SendKeys(p.fieldX(label), text))
}

// pick chooses, in the list labelled label, the option whose words start
// with option, by typing them into the focused list as a keyboard user
// does, and looks that the list shows it; if the page put the list back
// meanwhile, they pick again (another action).
func (p *person) pick(label, option string) {
	p.tb.Helper()
	for try := 0; try < 3; try++ {
		p.actions++
		p.do("picking "+xq(option)+" in "+xq(label), chromedp.SendKeys(p.fieldX(label), option))
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			if p.shows(label, option) {
				time.Sleep(300 * time.Millisecond) // does it stay?
				if p.shows(label, option) {
					return
				}
			}
		}
	}
	p.shot("failed")
	p.tb.Fatalf("the list %s does not keep %s", xq(label), xq(option))
}

// wait polls a read-only expression until it is true, for at most 30 s.
func (p *person) wait(what, js string) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		p.shot("failed")
		p.tb.Fatalf("waiting for %s: %v", what, err)
	}
}

// shows reports whether the list labelled label shows an option whose
// words start with option.
func (p *person) shows(label, option string) bool {
	p.tb.Helper()
	js := fmt.Sprintf(`(() => {
		const r = document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
		return !!r && r.selectedIndex >= 0 && r.options[r.selectedIndex].text.startsWith(%q);
	})()`, p.fieldX(label), option)
	ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		p.tb.Fatal(err)
	}
	return ok
}

// seeAny waits until the page shows one of texts and returns it.
func (p *person) seeAny(texts ...string) string {
	p.tb.Helper()
	var conds []string
	for _, t := range texts {
		conds = append(conds, fmt.Sprintf(`document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue ? %q : ""`,
			textX(t), t))
	}
	js := "(() => { for (const v of [" + strings.Join(conds, ",") + "]) if (v) return v; return null; })()"
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Poll[string](js, chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		p.shot("failed")
		p.tb.Fatalf("waiting to read one of %q: %v", texts, err)
	}
	return got
}

// waitFor waits until x matches a visible element.
func (p *person) waitFor(x string) {
	p.tb.Helper()
	p.do("waiting for "+x, chromedp.WaitVisible(x))
}

// seeRow waits until a table row shows every one of words.
func (p *person) seeRow(words ...string) {
	p.tb.Helper()
	var conds []string
	for _, w := range words {
		conds = append(conds, fmt.Sprintf("contains(normalize-space(.), %s)", xq(w)))
	}
	x := "//tr[" + strings.Join(conds, " and ") + "]"
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(x)); err != nil {
		p.shot("failed")
		p.tb.Fatalf("waiting for a row with %q: %v", words, err)
	}
}

// textX matches the innermost element whose words contain text.
func textX(text string) string {
	return fmt.Sprintf(`//*[not(self::script) and not(self::style) and not(self::title) and contains(normalize-space(.), %s)][not(*[contains(normalize-space(.), %s)])]`, xq(text), xq(text))
}

// tick makes sure the checkbox labelled label is ticked, or unticked
// with untick: a person looks, clicks, and looks again.
func (p *person) tick(label string) { p.setTick(label, true) }

// untick makes sure the checkbox labelled label is not ticked.
func (p *person) untick(label string) { p.setTick(label, false) }

func (p *person) setTick(label string, want bool) {
	p.tb.Helper()
	js := fmt.Sprintf(`(() => {
		const r = document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
		return r ? r.checked : null;
	})()`, p.fieldX(label))
	for try := 0; try < 5; try++ {
		got, err := chromedp.Run(p.ctx, chromedp.Evaluate[*bool](js))
		if err != nil {
			p.tb.Fatal(err)
		}
		if got != nil && *got == want {
			return
		}
		if got != nil || try > 0 {
			p.actions++
			p.settle(p.fieldX(label))
			p.do("ticking "+xq(label), chromedp.Click(p.fieldX(label)))
		} else {
			p.do("finding "+xq(label), chromedp.WaitVisible(p.fieldX(label)))
		}
		time.Sleep(100 * time.Millisecond) // let the console take the click before looking again
	}
	p.shot("failed")
	p.tb.Fatalf("the box %s does not stay ticked=%v", xq(label), want)
}

// chooseFile picks path in the file picker labelled label.
func (p *person) chooseFile(label, path string) {
	p.tb.Helper()
	p.actions++
	p.do("choosing "+filepath.Base(path)+" in "+xq(label), chromedp.SetUploadFiles(p.fieldX(label), []string{path}))
}

// see waits until the page shows text somewhere visible.
func (p *person) see(text string) {
	p.tb.Helper()
	x := textX(text)
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(x)); err != nil {
		p.shot("failed")
		p.tb.Fatalf("waiting to read %s: %v", xq(text), err)
	}
}

// shot saves a full-page screenshot when TRUSTFORGE_SHOTS names a
// directory.
func (p *person) shot(name string) {
	if p.shots == "" {
		return
	}
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return
	}
	p.shotN++
	os.MkdirAll(p.shots, 0o755)
	os.WriteFile(filepath.Join(p.shots, fmt.Sprintf("%s-%02d-%s.png", p.tb.Name(), p.shotN, name)), png, 0o644)
}
