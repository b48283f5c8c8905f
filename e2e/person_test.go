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

// buttonX matches an enabled button, or a link, whose visible words are
// text: a person waits for a greyed-out button to come alive.
func buttonX(text string) string {
	return fmt.Sprintf(`//*[self::button or self::a][normalize-space(.)=%s][not(@disabled)]`, xq(text))
}

// fieldX matches the form control a label whose words start with label
// names (by its for attribute, or inside it).
func fieldX(label string) string {
	l := fmt.Sprintf(`//label[starts-with(normalize-space(.), %s)]`, xq(label))
	return fmt.Sprintf(`(%s//*[self::input or self::select or self::textarea] | //*[(self::input or self::select or self::textarea) and @id=%s/@for])`, l, l)
}

func (p *person) do(what string, a chromedp.Action[chromedp.Void]) {
	p.tb.Helper()
	if err := chromedp.Do(p.ctx, a); err != nil {
		p.shot("failed")
		p.tb.Fatalf("%s: %v", what, err)
	}
}

// click clicks the button or link whose words are text.
func (p *person) click(text string) {
	p.tb.Helper()
	p.actions++
	p.do("clicking "+xq(text), chromedp.Click(buttonX(text)))
}

// clickIn clicks the button whose words are text in the table row that
// starts with the words row.
func (p *person) clickIn(row, text string) {
	p.tb.Helper()
	p.actions++
	x := fmt.Sprintf(`//tr[starts-with(normalize-space(.), %s)]//*[self::button or self::a][normalize-space(.)=%s][not(@disabled)]`, xq(row), xq(text))
	p.do("clicking "+xq(text)+" in the row of "+xq(row), chromedp.Click(x))
}

// fill types text into the field labelled label.
func (p *person) fill(label, text string) {
	p.tb.Helper()
	p.actions++
	p.do("typing into "+xq(label), chromedp.SendKeys(fieldX(label), text))
}

// pick chooses, in the list labelled label, the option whose words start
// with option, by typing them into the focused list as a keyboard user
// does.
func (p *person) pick(label, option string) {
	p.tb.Helper()
	p.actions++
	p.do("picking "+xq(option)+" in "+xq(label), chromedp.SendKeys(fieldX(label), option))
	// Read back what the list shows, as the person glances at it.
	js := fmt.Sprintf(`(() => {
		const r = document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
		return !!r && r.selectedIndex >= 0 && r.options[r.selectedIndex].text.startsWith(%q);
	})()`, fieldX(label), option)
	p.wait("the list "+xq(label)+" to show "+xq(option), js)
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
	})()`, fieldX(label), option)
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

// tick clicks the checkbox labelled label.
func (p *person) tick(label string) {
	p.tb.Helper()
	p.actions++
	p.do("ticking "+xq(label), chromedp.Click(fieldX(label)))
}

// chooseFile picks path in the file picker labelled label.
func (p *person) chooseFile(label, path string) {
	p.tb.Helper()
	p.actions++
	p.do("choosing "+filepath.Base(path)+" in "+xq(label), chromedp.SetUploadFiles(fieldX(label), []string{path}))
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

// since reports the time since start, for benchmarks.
func since(start time.Time) time.Duration { return time.Since(start) }
